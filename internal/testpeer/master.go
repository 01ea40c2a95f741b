package testpeer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/internal/procstat"
	"github.com/onair-studio/onair/stub/pb"
)

// BuildOnAir builds master, studio (the window), encoder and pluginhost into
// dir, and the example plugins with their manifest into dir/plugins, from
// the module this package belongs to. With race the master and the window
// are race-enabled, so a data race in them fails the test that stops them; the children are not, because
// the race runtime slows their start-up several-fold and tests time their
// restarts (their packages run under the race detector on their own).
func BuildOnAir(dir string, race bool) error {
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return err
	}
	build := func(out string, flags []string, pkgs ...string) error {
		cmd := exec.Command("go", append(append([]string{"build", "-o", out + "/"}, flags...), pkgs...)...)
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", strings.Join(pkgs, " "), err, out)
		}
		return nil
	}
	var masterFlags []string
	if race {
		masterFlags = []string{"-race"}
	}
	if err := build(dir, masterFlags, "./cmd/master", "./cmd/studio"); err != nil {
		return err
	}
	if err := build(dir, nil, "./cmd/encoder", "./cmd/pluginhost", "./cmd/worker"); err != nil {
		return err
	}
	// The example plugins, with their manifest, in dir/plugins.
	plugins := filepath.Join(dir, "plugins")
	if err := build(plugins, nil, "./plugins/..."); err != nil {
		return err
	}
	if out, err := exec.Command(filepath.Join(dir, "pluginhost"), "-write-manifest", plugins).CombinedOutput(); err != nil {
		return fmt.Errorf("plugin manifest: %v\n%s", err, out)
	}
	return nil
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// Binaries builds OnAir (no race detector) once per test binary, the first
// time a test or benchmark needs it, and returns the directory. It is for
// benchmarks, which run many short-lived masters from one build.
func Binaries(t testing.TB) string {
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "onair-bench")
		if buildErr == nil {
			buildErr = BuildOnAir(buildDir, false)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// SyncBuffer collects a process's output while it runs.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Master is a real OnAir master process with its own config dir, on free
// loopback ports.
type Master struct {
	T           testing.TB
	BinDir      string
	Cmd         *exec.Cmd
	Env         []string
	ConfigHome  string // XDG_CONFIG_HOME; OnAir's files are in ConfigHome/onair
	Out         *SyncBuffer
	Addr        string
	Fingerprint string
	Token       string
	Client      pb.ControlClient
	Exited      chan struct{}
}

// StartMaster runs binDir/master with args and waits until its Control API
// answers. It is stopped with SIGTERM when the test ends, and must exit
// cleanly then (a race-built master exits non-zero on a data race).
func StartMaster(t testing.TB, binDir string, env []string, args ...string) *Master {
	t.Helper()
	return StartMasterIn(t, binDir, t.TempDir(), env, args...)
}

// StartMasterIn is StartMaster with the config dir under configHome: a
// master started again where one ran before finds what it left.
func StartMasterIn(t testing.TB, binDir, configHome string, env []string, args ...string) *Master {
	t.Helper()
	m := &Master{T: t, BinDir: binDir, ConfigHome: configHome, Out: &SyncBuffer{}, Exited: make(chan struct{})}
	m.Env = append(os.Environ(), "XDG_CONFIG_HOME="+m.ConfigHome)
	m.Env = append(m.Env, env...)
	ports := []string{"-listen", "127.0.0.1:0", "-monitor", "127.0.0.1:0", "-rtmp-listen", "127.0.0.1:0", "-headless"}
	m.Cmd = exec.Command(filepath.Join(binDir, "master"), append(ports, args...)...)
	m.Cmd.Env = m.Env
	m.Cmd.Stdout, m.Cmd.Stderr = m.Out, m.Out
	if err := m.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = m.Cmd.Wait(); close(m.Exited) }()
	t.Cleanup(m.Stop)

	dir := filepath.Join(m.ConfigHome, "onair")
	m.Await("control endpoint written", 10*time.Second, func() bool {
		e, err := control.ReadEndpoint(dir)
		if err != nil {
			return false
		}
		m.Addr, m.Fingerprint = e.Addr, e.Fingerprint
		return true
	})
	tok, err := control.ReadToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.Token = tok
	client, conn, err := control.Dial(m.Addr, m.Token, m.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	m.Client = client
	return m
}

// Stop sends SIGTERM and checks for a clean exit.
func (m *Master) Stop() {
	select {
	case <-m.Exited:
		return
	default:
	}
	_ = m.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.Exited:
	case <-time.After(15 * time.Second):
		_ = m.Cmd.Process.Kill()
		<-m.Exited
		m.T.Errorf("master did not stop on SIGTERM; output:\n%s", m.Out)
		return
	}
	if code := m.Cmd.ProcessState.ExitCode(); code != 0 {
		m.T.Errorf("master exited with %d on SIGTERM; output:\n%s", code, m.Out)
	}
}

// Await polls cond until it holds, failing the test after within or if the
// master exits. It returns how long it took.
func (m *Master) Await(what string, within time.Duration, cond func() bool) time.Duration {
	m.T.Helper()
	start := time.Now()
	if !Eventually(within, func() bool {
		if cond() {
			return true
		}
		select {
		case <-m.Exited:
			m.T.Fatalf("master exited while waiting for %s; output:\n%s", what, m.Out)
		default:
		}
		return false
	}) {
		m.T.Fatalf("%s: not within %s; output:\n%s", what, within, m.Out)
	}
	return time.Since(start)
}

// Status asks the Control API.
func (m *Master) Status() *pb.MasterStatus {
	m.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := m.Client.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		m.T.Fatalf("status: %v", err)
	}
	return st
}

// AwaitConfigured waits until the named children run the desired state.
func (m *Master) AwaitConfigured(within time.Duration, names ...string) *pb.MasterStatus {
	m.T.Helper()
	var st *pb.MasterStatus
	m.Await(strings.Join(names, ", ")+" running and configured", within, func() bool {
		st = m.Status()
		for _, n := range names {
			if !Configured(st, n) {
				return false
			}
		}
		return true
	})
	return st
}

// Ctl runs `master ctl` as a user would on the master's machine.
func (m *Master) Ctl(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(m.BinDir, "master"), append([]string{"ctl"}, args...)...)
	cmd.Env = m.Env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// CtlStatusJSON runs `master ctl status --json` and parses it.
func (m *Master) CtlStatusJSON() *pb.MasterStatus {
	m.T.Helper()
	out, err := m.Ctl("status", "--json")
	if err != nil {
		m.T.Fatalf("ctl status --json: %v\n%s", err, out)
	}
	st := &pb.MasterStatus{}
	if err := protojson.Unmarshal([]byte(out), st); err != nil {
		m.T.Fatalf("ctl status --json printed no status JSON: %v\n%s", err, out)
	}
	return st
}

// Child finds a child in a status.
func Child(st *pb.MasterStatus, name string) *pb.ChildStatus {
	for _, c := range st.GetChildren() {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

// Configured reports whether the child runs with the current desired state.
func Configured(st *pb.MasterStatus, name string) bool {
	c := Child(st, name)
	return c != nil && c.GetState() == "running" && c.GetConfiguredRevision() == st.GetRevision()
}

// Alive reports whether pid is a live process (a zombie counts as dead).
func Alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// ProcUsage returns a live process's CPU time (user + system) and its peak
// resident memory in KiB, from /proc, for benchmarks.
func ProcUsage(pid int) (cpu time.Duration, peakKiB int, err error) {
	ticks, ok := procstat.Ticks([]int{pid})
	if !ok {
		return 0, 0, fmt.Errorf("process %d: CPU time not readable", pid)
	}
	cpu = time.Duration(ticks) * time.Second / 100 // clock ticks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			if fs := strings.Fields(v); len(fs) > 0 {
				peakKiB, _ = strconv.Atoi(fs[0])
			}
		}
	}
	return cpu, peakKiB, nil
}
