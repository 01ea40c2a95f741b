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

// The supervisor notices a SIGKILLed child within 50 ms, and the new child is
// configured before it counts as running.
func TestExitNoticedWithin50ms(t *testing.T) {
	c := Start(helperSpec(t, 7))
	defer c.Close()
	await(t, "first start", 10*time.Second, func() bool { return c.Snapshot().State == Running })
	s := c.Snapshot()
	if s.ConfiguredRevision != 7 {
		t.Fatalf("running with revision %d, want 7", s.ConfiguredRevision)
	}
	if err := syscall.Kill(s.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	took := await(t, "exit noticed", time.Second, func() bool { return c.Snapshot().State != Running })
	t.Logf("exit noticed in %s", took)
	if took > 50*time.Millisecond {
		t.Errorf("exit noticed after %s, want within 50ms", took)
	}
	await(t, "restart", 2*time.Second, func() bool {
		n := c.Snapshot()
		return n.State == Running && n.PID != s.PID
	})
	n := c.Snapshot()
	if n.Restarts != 1 || n.ConfiguredRevision != 7 || n.LastExit != "signal: killed" {
		t.Fatalf("after restart: %+v", n)
	}
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
