package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

// binDir holds master, encoder and pluginhost built once for all tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onair-bin")
	if err != nil {
		panic(err)
	}
	if err := testpeer.BuildOnAir(dir, raceBuild); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func startMaster(t *testing.T, env []string, args ...string) *testpeer.Master {
	t.Helper()
	return testpeer.StartMaster(t, binDir, env, args...)
}

var (
	child      = testpeer.Child
	configured = testpeer.Configured
	alive      = testpeer.Alive
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ctlStdin runs `master ctl` like m.Ctl, with stdin (for keys, which are
// never passed as arguments).
func ctlStdin(m *testpeer.Master, stdin string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(m.BinDir, "master"), append([]string{"ctl"}, args...)...)
	cmd.Env = m.Env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// process is a binary the test runs itself (not through StartMaster), with
// its output kept. It is stopped when the test ends: SIGTERM, then SIGKILL
// after 15 s.
type process struct {
	cmd    *exec.Cmd
	out    *testpeer.SyncBuffer
	exited chan struct{}
}

func startProcess(t *testing.T, path string, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(path, args...), out: &testpeer.SyncBuffer{}, exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}
