// Package testpeer starts real third-party peers for tests: an nginx-rtmp live
// server, ffmpeg/ffprobe as publisher and reader, and a TLS terminator. Every
// process or listener it starts is stopped by the test's cleanup.
package testpeer

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Await polls cond until it holds, failing the test after timeout.
func Await(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Eventually(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// Eventually polls cond until it holds or timeout passes, and reports which.
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ClosedPort returns a loopback port nothing listens on, so a dial is refused.
func ClosedPort(t testing.TB) int { return FreePort(t) }

// Need skips the test unless the named programs are installed.
func Need(t testing.TB, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is not installed (apt-get install nginx libnginx-mod-rtmp ffmpeg)", p)
		}
	}
}

// Logger returns a logger that writes to the test log until the test ends.
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// Proc is a child process whose output is kept for failure messages.
type Proc struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	out    tailBuffer
}

// start runs name with args; the process is killed when the test ends.
// lines, if set, receives stderr line by line.
func start(t testing.TB, lines func(string), name string, args ...string) *Proc {
	t.Helper()
	return startCmd(t, nil, lines, name, args...)
}

// startCmd is start with setup (environment, stdin) applied to the command
// before it runs.
func startCmd(t testing.TB, setup func(*exec.Cmd), lines func(string), name string, args ...string) *Proc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proc{cancel: cancel, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, name, args...)
	p.cmd.WaitDelay = 2 * time.Second
	p.out.lines = lines
	p.cmd.Stdout = io.Discard
	p.cmd.Stderr = &p.out
	if setup != nil {
		setup(p.cmd)
	}
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.Stop)
	return p
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Wait waits up to timeout for the process to exit and returns its error.
func (p *Proc) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return context.DeadlineExceeded
	}
}

// Stop kills the process and waits for it.
func (p *Proc) Stop() {
	p.cancel()
	<-p.done
}

// Output is the tail of the process's stderr.
func (p *Proc) Output() string { return p.out.String() }

// tailBuffer keeps the last 64 KiB written and splits it into lines.
type tailBuffer struct {
	mu      sync.Mutex
	buf     []byte
	partial []byte
	lines   func(string)
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 64<<10 {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-32<<10:]...)
	}
	if b.lines != nil {
		b.partial = append(b.partial, p...)
		for {
			i := indexLineEnd(b.partial)
			if i < 0 {
				break
			}
			b.lines(string(b.partial[:i]))
			b.partial = b.partial[i+1:]
		}
	}
	return len(p), nil
}

// indexLineEnd finds \n or \r (ffmpeg ends progress lines with \r).
func indexLineEnd(b []byte) int {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return i
		}
	}
	return -1
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func itoa(i int) string { return strconv.Itoa(i) }
