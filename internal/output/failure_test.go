package output

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

const secretKey = "sk_live_0123456789abcdef"

// awaitFailure waits for p to fail and returns its error and how long it took.
func awaitFailure(t *testing.T, p *Publisher, started time.Time) (error, time.Duration) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("publisher still running after 10 s")
	}
	took := time.Since(started)
	st, err := p.State()
	if st != StateFailed || err == nil {
		t.Fatalf("state %v, want failed (%v)", st, err)
	}
	if strings.Contains(err.Error(), secretKey) {
		t.Errorf("error shows the stream key: %v", err)
	}
	return err, took
}

// Each bad destination fails with a clear error within a few seconds, and
// leaves no goroutine behind once closed.
func TestBadDestinations(t *testing.T) {
	ngx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	// A server that accepts connections and never says a word.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := silent.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	baseline := runtime.NumGoroutine()

	if _, err := NewPublisher(Config{URL: "http://127.0.0.1/live/" + secretKey}); err == nil ||
		!strings.Contains(err.Error(), "unsupported scheme") || strings.Contains(err.Error(), secretKey) {
		t.Errorf("http:// destination: %v", err)
	}

	for _, tc := range []struct {
		name, url, want string
	}{
		{"unreachable host", fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", testpeer.ClosedPort(t), secretKey), "connection refused"},
		{"application rejected", ngx.URL("nosuchapp", secretKey), `connect to application "nosuchapp": server closed the connection`},
		{"server never answers", fmt.Sprintf("rtmp://%s/live/%s", silent.Addr(), secretKey), "RTMP handshake: no answer in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			p, err := NewPublisher(Config{URL: tc.url, Timeout: 2 * time.Second, Log: testpeer.Logger(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			err, took := awaitFailure(t, p, start)
			t.Logf("after %v: %v", took.Round(time.Millisecond), err)
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "****") {
				t.Errorf("error %q, want it to say %q and show the masked URL", err, tc.want)
			}
			if took > 3*time.Second {
				t.Errorf("took %v to fail", took)
			}
		})
	}
	testpeer.Await(t, 5*time.Second, "publisher goroutines to end", func() bool {
		return runtime.NumGoroutine() <= baseline
	})
}

// The server dies (SIGKILL) or hangs (SIGSTOP) mid-stream: the publisher
// fails within seconds, and the caller is never blocked meanwhile; frames
// that cannot go out are dropped to the next keyframe.
func TestServerGoesAway(t *testing.T) {
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 2}), 30)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			ngx := testpeer.StartNginx(t, testpeer.NginxOptions{})
			p := startPublisher(t, Config{URL: ngx.URL("live", secretKey), WriteTimeout: time.Second, QueueSize: 32})
			feed(p, aus[:30], 0, time.Now(), false)
			testpeer.Await(t, 5*time.Second, "the first second to be sent", func() bool { return p.Stats().FramesSent == 30 })
			if err := syscall.Kill(ngx.PID(), sig); err != nil {
				t.Fatal(err)
			}
			if sig == syscall.SIGSTOP {
				t.Cleanup(func() { _ = syscall.Kill(ngx.PID(), syscall.SIGCONT) })
			}
			// Keep feeding, as an encoder does: a hung server shows only once
			// the socket buffers are full and a write stalls. Feeding must
			// never block meanwhile.
			start := time.Now()
			for i := 1; time.Since(start) < 15*time.Second; i++ {
				t0 := time.Now()
				feed(p, aus, time.Duration(i)*2*time.Second, time.Now(), false)
				// A write that waited for the hung server would block for good;
				// a second leaves room for a busy machine.
				if d := time.Since(t0); d > time.Second {
					t.Fatalf("feeding 2 s of frames took %v", d)
				}
				if st, _ := p.State(); st == StateFailed {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			err, took := awaitFailure(t, p, start)
			t.Logf("after %v: %v (stats %+v)", took.Round(time.Millisecond), err, p.Stats())
			if took > 10*time.Second {
				t.Errorf("took %v to notice", took)
			}
			if sig == syscall.SIGSTOP && p.Stats().FramesDropped == 0 {
				t.Errorf("no frames dropped while the server hung")
			}
		})
	}
}
