package supervise

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/encoder"
	"github.com/onair-studio/onair/stub"
	"github.com/onair-studio/onair/stub/pb"
)

// TestHelperProcess is not a test: it is the child the tests supervise, the
// test binary re-run as an encoder plugin.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("ONAIR_HELPER_CHILD") != "1" {
		t.Skip("only runs as a supervised child")
	}
	stub.Serve(stub.EncoderName, &stub.EncoderPlugin{Impl: encoder.New()})
	os.Exit(0)
}

func helperSpec(t *testing.T, revision uint64) Spec[pb.EncoderClient] {
	return Spec[pb.EncoderClient]{
		Name: "encoder",
		Command: func() *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
			cmd.Env = append(os.Environ(), "ONAIR_HELPER_CHILD=1")
			return cmd
		},
		Handshake: stub.Handshake, Plugins: stub.Plugins, Dispense: stub.EncoderName,
		Configure: func(ctx context.Context, c pb.EncoderClient) (uint64, error) {
			st, err := c.Configure(ctx, &pb.EncoderConfig{Revision: revision})
			return st.GetAppliedRevision(), err
		},
		Ping: func(ctx context.Context, c pb.EncoderClient) error {
			_, err := c.Status(ctx, &pb.StatusRequest{})
			return err
		},
		Policy: DefaultPolicy(),
	}
}

func await(t *testing.T, what string, within time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// The supervisor notices a SIGKILLed child by itself, and the new child is
// configured before it counts as running.
func TestExitNoticedAndRestarted(t *testing.T) {
	spec := helperSpec(t, 7)
	// With health pings a minute apart, only the exit watcher can notice
	// the death in time: the bound below then tests the watcher, not the
	// health check.
	spec.Policy.PingEvery, spec.Policy.HangAfter = time.Minute, time.Minute
	c := Start(spec)
	defer c.Close()
	await(t, "first start", 10*time.Second, func() bool { return c.Snapshot().State == Running })
	s := c.Snapshot()
	if s.ConfiguredRevision != 7 {
		t.Fatalf("running with revision %d, want 7", s.ConfiguredRevision)
	}
	kill(t, s.PID)
	// The watcher polls every 10 ms (exitPoll), which keeps the README's
	// 50 ms; the bound is 20 times that so that a loaded 2-core machine
	// delaying a goroutine does not fail the test, while still far below
	// the minute the health check would take.
	took := await(t, "exit noticed", time.Second, func() bool { return c.Snapshot().State != Running })
	t.Logf("exit noticed in %s", took)
	await(t, "restart", 10*time.Second, func() bool {
		n := c.Snapshot()
		return n.State == Running && n.PID != s.PID
	})
	n := c.Snapshot()
	if n.Restarts != 1 || n.ConfiguredRevision != 7 || n.LastExit != "signal: killed" {
		t.Fatalf("after restart: %+v", n)
	}
}

func kill(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// killUntilFailed SIGKILLs each new child until the crash loop limit puts
// it in the failed state, and returns that snapshot.
func killUntilFailed(t *testing.T, c *Child[pb.EncoderClient]) Snapshot {
	t.Helper()
	var s Snapshot
	await(t, "the crash loop limit", 30*time.Second, func() bool {
		s = c.Snapshot()
		if s.State == Running {
			kill(t, s.PID)
			await(t, "exit noticed", 10*time.Second, func() bool { return c.Snapshot().State != Running })
			s = c.Snapshot()
		}
		return s.State == Failed
	})
	return s
}

// A child in a crash loop is failed, and still tried again at the slow
// pace, with the next attempt in status: an unattended broadcast comes back
// once the cause is gone. A quick crash after such an attempt keeps it
// failed (it has not run stably yet).
func TestFailedChildKeepsRetryingSlowly(t *testing.T) {
	spec := helperSpec(t, 1)
	spec.Policy.FirstBackoff, spec.Policy.CrashLimit = 10*time.Millisecond, 2
	spec.Policy.SlowRetry = 2 * time.Second
	c := Start(spec)
	defer c.Close()
	await(t, "first start", 10*time.Second, func() bool { return c.Snapshot().State == Running })
	s := killUntilFailed(t, c)
	if s.NextStart <= 0 || s.NextStart > spec.Policy.SlowRetry {
		t.Fatalf("failed with next attempt in %v, want within the slow retry %v", s.NextStart, spec.Policy.SlowRetry)
	}
	// Generous: the slow retry plus a start on a loaded machine.
	await(t, "the slow retry", 20*time.Second, func() bool { return c.Snapshot().State == Running })
	if r := c.Snapshot().Restarts; r != 2 {
		t.Fatalf("%d restarts, want 2 (one backoff, one slow retry)", r)
	}
	kill(t, c.Snapshot().PID)
	await(t, "exit noticed", 10*time.Second, func() bool { return c.Snapshot().State != Running })
	if s := c.Snapshot(); s.State != Failed || s.NextStart <= 0 {
		t.Fatalf("a quick crash after the slow retry: %s, next start in %v; want failed with a next attempt", s.State, s.NextStart)
	}
}

// Restart leaves the failed state at once, without waiting for the slow
// retry.
func TestRestartLeavesFailedAtOnce(t *testing.T) {
	spec := helperSpec(t, 1)
	spec.Policy.CrashLimit, spec.Policy.SlowRetry = 1, time.Hour
	c := Start(spec)
	defer c.Close()
	await(t, "first start", 10*time.Second, func() bool { return c.Snapshot().State == Running })
	killUntilFailed(t, c)
	c.Restart()
	await(t, "restart out of failed", 10*time.Second, func() bool { return c.Snapshot().State == Running })
}

// Close stops the child: no process is left behind.
func TestCloseStopsChild(t *testing.T) {
	c := Start(helperSpec(t, 1))
	await(t, "start", 10*time.Second, func() bool { return c.Snapshot().State == Running })
	pid := c.Snapshot().PID
	c.Close()
	if err := syscall.Kill(pid, 0); err == nil {
		// A zombie is reaped by go-plugin's Wait before Close returns, so a
		// successful signal means a live process.
		t.Fatalf("child %d still alive after Close", pid)
	}
	if st := c.Snapshot().State; st != Stopped {
		t.Fatalf("state %s after Close, want stopped", st)
	}
}
