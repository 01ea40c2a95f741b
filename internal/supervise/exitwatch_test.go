package supervise

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The exit channel closes when the process dies, before anyone reaps it,
// and stays open while it runs.
func TestExitOfSeesDeathBeforeReaping(t *testing.T) {
	cmd := startSleep(t)
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
	awaitEndSeen(t, ended, cmd)
}

// A process that ended before the watch began is seen too: a child can die
// while its watcher is still being set up.
func TestExitOfSeesDeathBeforeTheWatch(t *testing.T) {
	for range 20 {
		cmd := startSleep(t)
		if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// Until it has ended, without reaping it.
		var info unix.Siginfo
		for {
			err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
			if err == nil {
				break
			}
			if err != unix.EINTR {
				t.Fatal(err)
			}
		}
		ended := exitOf(cmd.Process.Pid)
		if ended == nil {
			t.Skip("no pidfd on this system: the watchers poll instead")
		}
		awaitEndSeen(t, ended, cmd)
	}
}

// startSleep starts a process that runs until killed; the test kills and
// reaps it at the end if it has not.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// awaitEndSeen checks that ended closes for cmd's killed process and that
// the process was not reaped: its exit status is still there for go-plugin.
func awaitEndSeen(t *testing.T, ended <-chan struct{}, cmd *exec.Cmd) {
	t.Helper()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the channel did not close 10 s after the process was killed")
	}
	if err := cmd.Wait(); err == nil || err.Error() != "signal: killed" {
		t.Fatalf("wait after the channel closed: %v, want signal: killed", err)
	}
}
