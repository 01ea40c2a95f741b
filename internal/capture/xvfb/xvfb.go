// Package xvfb runs a private virtual X server (Xvfb) for tests and
// benchmarks of screen capture.
package xvfb

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Server is a running Xvfb.
type Server struct {
	// Display is the X display name, e.g. ":3".
	Display string

	cmd    *exec.Cmd
	exited chan struct{}
	stderr *syncBuffer
}

// Start runs Xvfb with one w×h screen at depth 24, no TCP listener and no
// reset when the last client leaves (so pictures set on the root window
// stay), plus any extra arguments (e.g. "-extension", "MIT-SHM" to turn
// shared memory off). Xvfb chooses a free display number itself
// (-displayfd), so parallel runs never collide. Start returns once the
// server accepts connections.
func Start(w, h int, extra ...string) (*Server, error) {
	if _, err := exec.LookPath("Xvfb"); err != nil {
		return nil, fmt.Errorf("xvfb: %w (Debian package xvfb)", err)
	}
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	s := &Server{exited: make(chan struct{}), stderr: &syncBuffer{}}
	args := []string{"-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", w, h), "-nolisten", "tcp", "-noreset"}
	s.cmd = exec.Command("Xvfb", append(args, extra...)...)
	s.cmd.ExtraFiles = []*os.File{wr}
	s.cmd.Stderr = s.stderr
	// The server must not outlive a test binary that is killed.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		wr.Close()
		return nil, fmt.Errorf("xvfb: %w", err)
	}
	wr.Close()
	go func() { s.cmd.Wait(); close(s.exited) }()

	// Xvfb writes its display number to fd 3 once it is ready.
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case n := <-line:
		if n == "" {
			s.Close()
			return nil, fmt.Errorf("xvfb: exited before it was ready: %s", s.stderr.String())
		}
		s.Display = ":" + n
	case <-time.After(20 * time.Second):
		s.Close()
		return nil, fmt.Errorf("xvfb: not ready after 20 s: %s", s.stderr.String())
	}
	sock := "/tmp/.X11-unix/X" + s.Display[1:]
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := os.Stat(sock); err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("xvfb: socket %s missing", sock)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill ends the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// Close stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (s *Server) Close() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	return nil
}

// Exited is closed when the server process has ended.
func (s *Server) Exited() <-chan struct{} { return s.exited }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 64<<10 {
		return len(p), nil
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }
