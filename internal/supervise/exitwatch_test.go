package supervise

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// The exit channel closes when the process dies, before anyone reaps it,
// and stays open while it runs.
func TestExitOfSeesDeathBeforeReaping(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	ended := exitOf(cmd.Process.Pid)
	if ended == nil {
		t.Skip("no pidfd on this system: the watchers poll instead")
	}
	select {
	case <-ended:
		t.Fatal("the channel closed while the process runs")
	default:
	}
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the channel did not close 10 s after the process was killed")
	}
	// Not reaped yet: the exit status is still there for go-plugin.
	if err := cmd.Wait(); err == nil || err.Error() != "signal: killed" {
		t.Fatalf("wait after the channel closed: %v, want signal: killed", err)
	}
}
