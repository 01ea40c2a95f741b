package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/stub/pb"
	"github.com/onair-studio/onair/ui/link"
)

// engineLogFile holds a detached engine's output, in the config dir.
const engineLogFile = "engine.log"

func engineLog(dir string) string { return filepath.Join(dir, engineLogFile) }

// engineStartTimeout bounds how long a new engine may take to answer.
const engineStartTimeout = 60 * time.Second

// localTarget is the engine this machine's config dir points at. It is read
// anew on every call, so a restarted engine on another port is found.
func localTarget(dir string) link.Resolver {
	return func() (link.Target, error) {
		e, err := control.ReadEndpoint(dir)
		if err != nil {
			return link.Target{}, fmt.Errorf("no engine found: %w", err)
		}
		tok, err := control.ReadToken(dir)
		if err != nil {
			return link.Target{}, err
		}
		return link.Target{Addr: e.Addr, Token: tok, Fingerprint: e.Fingerprint}, nil
	}
}

// answering asks the engine the config dir points at for its status.
func answering(dir string, timeout time.Duration) (*pb.MasterStatus, error) {
	t, err := localTarget(dir)()
	if err != nil {
		return nil, err
	}
	c, conn, err := control.Dial(t.Addr, t.Token, t.Fingerprint)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Status(ctx, &pb.StatusRequest{})
}

// localEngine returns the pid of the engine on this machine, starting one
// when none answers. The engine is the master run headless and detached
// (setsid, output to a log file): nothing ties it to the window, so closing
// or killing the GUI leaves the stream and the recording running.
func localEngine(dir string, args []string) (pid int, started bool, err error) {
	if st, err := answering(dir, 2*time.Second); err == nil {
		return int(st.GetPid()), false, nil
	}
	self, err := os.Executable()
	if err != nil {
		return 0, false, err
	}
	exe := filepath.Join(filepath.Dir(self), "master") // installed side by side
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, false, err
	}
	logPath := engineLog(dir)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, false, err
	}
	defer logFile.Close()
	cmd := exec.Command(exe, append(append([]string{}, args...), "-headless")...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, false, fmt.Errorf("starting the engine: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps it if it dies while the window is open

	deadline := time.Now().Add(engineStartTimeout)
	for {
		select {
		case err := <-exited:
			// Another window may have started one at the same moment.
			if st, aerr := answering(dir, 2*time.Second); aerr == nil {
				return int(st.GetPid()), false, nil
			}
			return 0, false, fmt.Errorf("the engine exited (%v) before it answered:\n%s", err, tail(logPath, 20))
		case <-time.After(50 * time.Millisecond):
		}
		if st, err := answering(dir, time.Second); err == nil && int(st.GetPid()) == cmd.Process.Pid {
			return cmd.Process.Pid, true, nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return 0, false, fmt.Errorf("the engine did not answer within %s; its log:\n%s", engineStartTimeout, tail(logPath, 20))
		}
	}
}

// stopEngine ends the local engine the way Ctrl-C would.
func stopEngine(pid int) error {
	if pid <= 0 {
		return errors.New("no engine pid")
	}
	return syscall.Kill(pid, syscall.SIGTERM)
}

// tail is the last n lines of a file.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
