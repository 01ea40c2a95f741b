package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/stub/pb"
)

// binDir holds master, encoder and pluginhost built once for all tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onair-bin")
	if err != nil {
		panic(err)
	}
	args := []string{"build", "-o", dir + "/"}
	if raceBuild {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/master", "./cmd/encoder", "./cmd/pluginhost")
	build := exec.Command("go", args...)
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building binaries: %v\n%s", err, out)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runningMaster is a real master process with its own config dir.
type runningMaster struct {
	t      *testing.T
	cmd    *exec.Cmd
	env    []string
	cfgDir string // XDG_CONFIG_HOME
	out    *syncBuffer
	addr   string
	fp     string
	token  string
	client pb.ControlClient
	exited chan struct{}
}

// startMaster runs bin/master with args and waits until its Control API
// answers. It is stopped with SIGTERM at the end of the test, and must exit
// cleanly (a race-built master exits non-zero on a data race).
func startMaster(t *testing.T, extraEnv []string, args ...string) *runningMaster {
	t.Helper()
	m := &runningMaster{t: t, cfgDir: t.TempDir(), out: &syncBuffer{}, exited: make(chan struct{})}
	m.env = append(os.Environ(), "XDG_CONFIG_HOME="+m.cfgDir)
	m.env = append(m.env, extraEnv...)
	m.cmd = exec.Command(filepath.Join(binDir, "master"), append([]string{"-listen", "127.0.0.1:0", "-monitor", "127.0.0.1:0", "-rtmp-listen", "127.0.0.1:0", "-headless"}, args...)...)
	m.cmd.Env = m.env
	m.cmd.Stdout, m.cmd.Stderr = m.out, m.out
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = m.cmd.Wait(); close(m.exited) }()
	t.Cleanup(m.stop)

	dir := filepath.Join(m.cfgDir, "onair")
	m.await("control endpoint written", 10*time.Second, func() bool {
		e, err := control.ReadEndpoint(dir)
		if err != nil {
			return false
		}
		m.addr, m.fp = e.Addr, e.Fingerprint
		return true
	})
	tok, err := control.ReadToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.token = tok
	client, conn, err := control.Dial(m.addr, m.token, m.fp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	m.client = client
	return m
}

func (m *runningMaster) stop() {
	select {
	case <-m.exited:
		return
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(15 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exited
		m.t.Errorf("master did not stop on SIGTERM; output:\n%s", m.out)
		return
	}
	if code := m.cmd.ProcessState.ExitCode(); code != 0 {
		m.t.Errorf("master exited with %d on SIGTERM; output:\n%s", code, m.out)
	}
}

// await polls cond until it holds or the deadline passes.
func (m *runningMaster) await(what string, within time.Duration, cond func() bool) time.Duration {
	m.t.Helper()
	start := time.Now()
	for !cond() {
		select {
		case <-m.exited:
			m.t.Fatalf("master exited while waiting for %s; output:\n%s", what, m.out)
		default:
		}
		if time.Since(start) > within {
			m.t.Fatalf("%s: not within %s; output:\n%s", what, within, m.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func (m *runningMaster) status() *pb.MasterStatus {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := m.client.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		m.t.Fatalf("status: %v", err)
	}
	return st
}

func child(st *pb.MasterStatus, name string) *pb.ChildStatus {
	for _, c := range st.GetChildren() {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

// configured reports whether the child runs with the current desired state.
func configured(st *pb.MasterStatus, name string) bool {
	c := child(st, name)
	return c != nil && c.GetState() == "running" && c.GetConfiguredRevision() == st.GetRevision()
}

// awaitConfigured waits until the named children run the desired state.
func (m *runningMaster) awaitConfigured(within time.Duration, names ...string) *pb.MasterStatus {
	m.t.Helper()
	var st *pb.MasterStatus
	m.await(strings.Join(names, ", ")+" running and configured", within, func() bool {
		st = m.status()
		for _, n := range names {
			if !configured(st, n) {
				return false
			}
		}
		return true
	})
	return st
}

// ctl runs `master ctl` as a user would on the master's machine.
func (m *runningMaster) ctl(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(binDir, "master"), append([]string{"ctl"}, args...)...)
	cmd.Env = m.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (m *runningMaster) ctlStatusJSON() *pb.MasterStatus {
	m.t.Helper()
	out, err := m.ctl("status", "--json")
	if err != nil {
		m.t.Fatalf("ctl status --json: %v\n%s", err, out)
	}
	st := &pb.MasterStatus{}
	if err := protojson.Unmarshal([]byte(out), st); err != nil {
		m.t.Fatalf("ctl status --json printed no status JSON: %v\n%s", err, out)
	}
	return st
}

// alive reports whether pid is a live process (a zombie counts as dead).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
