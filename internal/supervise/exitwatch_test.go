package supervise

import (
	"bytes"
	"fmt"
	"os"
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

// A process that ended before the watch began is seen too: a child can die
// while its watcher is still being set up.
func TestExitOfSeesDeathBeforeTheWatch(t *testing.T) {
	for range 20 {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		awaitZombie(t, cmd.Process.Pid)
		ended := exitOf(cmd.Process.Pid)
		if ended == nil {
			_ = cmd.Wait()
			t.Skip("no pidfd on this system: the watchers poll instead")
		}
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			t.Fatal("the channel did not close for a process that had already ended")
		}
		if err := cmd.Wait(); err == nil || err.Error() != "signal: killed" {
			t.Fatalf("wait after the channel closed: %v, want signal: killed", err)
		}
	}
}

// awaitZombie waits until process pid has ended and awaits reaping.
func awaitZombie(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		// The state follows the command's closing parenthesis.
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not end 10 s after SIGKILL", pid)
		}
		time.Sleep(time.Millisecond)
	}
}
