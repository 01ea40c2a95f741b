package main

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/internal/gosched"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// A SIGKILLed child is running again, with the desired state applied, within
// a second, and the restart shows in status.
func TestKilledChildRestartsConfigured(t *testing.T) {
	// Not parallel: it times a restart.
	m := startMaster(t, nil)
	m.AwaitConfigured(10*time.Second, "encoder", "pluginhost")
	// Change the desired state first, so "configured" means the new child got
	// the changed state and not just its defaults.
	if _, err := m.Ctl("start"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"encoder", "pluginhost"} {
		before := m.AwaitConfigured(5*time.Second, name)
		old := child(before, name)
		if err := syscall.Kill(int(old.GetPid()), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		took := m.Await(name+" back after SIGKILL", time.Second, func() bool {
			st := m.Status()
			c := child(st, name)
			return configured(st, name) && c.GetPid() != old.GetPid()
		})
		after := child(m.Status(), name)
		t.Logf("%s: SIGKILL to running and configured in %s", name, took.Round(time.Millisecond))
		if after.GetRestarts() != old.GetRestarts()+1 {
			t.Errorf("%s restarts = %d, want %d", name, after.GetRestarts(), old.GetRestarts()+1)
		}
		if !strings.Contains(after.GetLastExit(), "killed") {
			t.Errorf("%s last exit %q does not say it was killed", name, after.GetLastExit())
		}
	}
	if st := m.Status(); !st.GetLive() || st.GetRevision() < 2 {
		t.Errorf("desired state lost across restarts: %v", st)
	}
}

// A child that stops answering is killed and restarted within 3 s.
func TestHungChildIsKilledAndRestarted(t *testing.T) {
	// Not parallel: it times a restart.
	m := startMaster(t, []string{"ONAIR_TEST_FAULTS=1"})
	for _, name := range []string{"encoder", "pluginhost"} {
		old := child(m.AwaitConfigured(10*time.Second, name), name)
		// The clock starts before the fault is sent, so the CLI's own start-up
		// counts against the 3 s.
		hungAt := time.Now()
		if out, err := m.Ctl("fault", name, "hang"); err != nil {
			t.Fatalf("inject hang: %v\n%s", err, out)
		}
		m.Await(name+" restarted after hanging", 3*time.Second-time.Since(hungAt), func() bool {
			st := m.Status()
			return configured(st, name) && child(st, name).GetPid() != old.GetPid()
		})
		t.Logf("%s: hang to running again in %s", name, time.Since(hungAt).Round(time.Millisecond))
		c := child(m.Status(), name)
		if !strings.Contains(c.GetLastExit(), "hung") {
			t.Errorf("%s last exit %q does not say it hung", name, c.GetLastExit())
		}
		if alive(int(old.GetPid())) {
			t.Errorf("hung %s (pid %d) is still alive", name, old.GetPid())
		}
	}
}

// Fault injection is refused unless switched on.
func TestFaultInjectionOffByDefault(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil, "-children", "encoder")
	m.AwaitConfigured(10*time.Second, "encoder")
	out, err := m.Ctl("fault", "encoder", "crash")
	if err == nil || !strings.Contains(out, "fault injection is off") {
		t.Fatalf("fault injected without ONAIR_TEST_FAULTS: %v\n%s", err, out)
	}
	if c := child(m.Status(), "encoder"); c.GetRestarts() != 0 {
		t.Fatalf("encoder restarted: %v", c)
	}
}

// Five crashes in a minute put a child in "failed", with its next slow
// attempt 30 s away in status; `master ctl restart` brings it back at once.
func TestCrashLoopFailsUntilRestarted(t *testing.T) {
	// Not parallel: it times a restart.
	m := startMaster(t, nil, "-children", "encoder")
	var lastPID int32
	for i := 0; i < 5; i++ {
		var c *pb.ChildStatus
		m.Await("encoder running", 10*time.Second, func() bool {
			st := m.Status()
			c = child(st, "encoder")
			return configured(st, "encoder") && c.GetPid() != lastPID
		})
		lastPID = c.GetPid()
		if err := syscall.Kill(int(c.GetPid()), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	m.Await("encoder failed", 5*time.Second, func() bool { return child(m.Status(), "encoder").GetState() == "failed" })
	// It stays failed until the slow retry.
	st := m.CtlStatusJSON()
	if c := child(st, "encoder"); c.GetState() != "failed" || c.GetPid() != 0 && alive(int(c.GetPid())) || c.GetNextStartMs() <= 0 {
		t.Fatalf("failed encoder: %v", c)
	}
	out, err := m.Ctl("status")
	if err != nil || !strings.Contains(out, "failed (next start in") {
		t.Fatalf("ctl status does not show failed: %v\n%s", err, out)
	}
	if out, err := m.Ctl("restart", "encoder"); err != nil {
		t.Fatalf("ctl restart: %v\n%s", err, out)
	}
	m.AwaitConfigured(2*time.Second, "encoder")
}

// A SIGKILLed master leaves no child alive a second later.
func TestKilledMasterLeavesNoOrphans(t *testing.T) {
	// Not parallel: it times a restart.
	m := startMaster(t, nil)
	st := m.AwaitConfigured(10*time.Second, "encoder", "pluginhost")
	if err := m.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-m.Exited
	deadline := time.Now().Add(time.Second)
	for _, c := range st.GetChildren() {
		for alive(int(c.GetPid())) {
			if time.Now().After(deadline) {
				t.Fatalf("%s (pid %d) outlived the master by a second", c.GetName(), c.GetPid())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// Partial mode runs only the named child.
func TestPartialMode(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil, "-children", "plugins")
	st := m.AwaitConfigured(10*time.Second, "pluginhost")
	if len(st.GetChildren()) != 1 {
		t.Fatalf("children = %v, want only the pluginhost", st.GetChildren())
	}
	out, err := m.Ctl("restart", "encoder")
	if err == nil || !strings.Contains(out, "not run by this master") {
		t.Fatalf("restart of an absent child: %v\n%s", err, out)
	}
}

// The master and its children run with the scheduler setting that keeps
// Go's system monitor from waking them thousands of times a second; the
// master re-executes itself to get it (same pid) and keeps the user's own
// GODEBUG entries.
func TestSchedulerSettingReachesEveryProcess(t *testing.T) {
	t.Parallel()
	m := startMaster(t, []string{"GODEBUG=gctrace=0"})
	st := m.AwaitConfigured(10*time.Second, "encoder", "pluginhost")
	want := "GODEBUG=gctrace=0," + gosched.Setting
	pids := map[string]int{"master": m.Cmd.Process.Pid}
	for _, name := range []string{"encoder", "pluginhost"} {
		pids[name] = int(child(st, name).GetPid())
	}
	for name, pid := range pids {
		env := strings.Split(readFile(t, fmt.Sprintf("/proc/%d/environ", pid)), "\x00")
		if !slices.Contains(env, want) {
			t.Errorf("%s (pid %d) runs without %q", name, pid, want)
		}
	}
}

// start/stop change the desired state, and every child applies it.
func TestStartStopReachChildren(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil)
	m.AwaitConfigured(10*time.Second, "encoder", "pluginhost")
	out, err := m.Ctl("start")
	if err != nil || !strings.Contains(out, "LIVE") {
		t.Fatalf("ctl start: %v\n%s", err, out)
	}
	st := m.AwaitConfigured(2*time.Second, "encoder", "pluginhost")
	if !st.GetLive() {
		t.Fatal("not live after start")
	}
	// The status carries the studio's CPU time, which is what a window
	// attached from another PC shows.
	if c0 := m.Status().GetCpuTicks(); c0 == 0 {
		t.Error("the status reports no CPU time")
	} else {
		m.Await("CPU time growing while live", 10*time.Second, func() bool { return m.Status().GetCpuTicks() > c0 })
	}
	if _, err := m.Ctl("stop"); err != nil {
		t.Fatal(err)
	}
	if st := m.AwaitConfigured(2*time.Second, "encoder", "pluginhost"); st.GetLive() {
		t.Fatal("live after stop")
	}
}

func TestTokenRequired(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil, "-children", "encoder")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, tc := range []struct{ name, token, want string }{
		{"missing", "", "missing token"},
		{"wrong", strings.Repeat("0", len(m.Token)), "wrong token"},
		{"wrong length", "x", "wrong token"},
	} {
		c, conn, err := control.Dial(m.Addr, tc.token, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Status(ctx, &pb.StatusRequest{})
		conn.Close()
		if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s token: got %v, want Unauthenticated %q", tc.name, err, tc.want)
		}
	}
	if _, err := m.Client.Status(ctx, &pb.StatusRequest{}); err != nil {
		t.Fatalf("right token refused: %v", err)
	}
	// The CLI with a wrong token says so.
	out, err := m.Ctl("-token", "nope", "status")
	if err == nil || !strings.Contains(out, "wrong token") {
		t.Fatalf("ctl with a wrong token: %v\n%s", err, out)
	}
	if strings.Contains(m.Out.String(), m.Token) {
		t.Fatal("the token appears in the master's log")
	}
}

func TestTokenFileIsPrivate(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil, "-children", "encoder")
	fi, err := os.Stat(filepath.Join(m.ConfigHome, "onair", control.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, want 0600", fi.Mode().Perm())
	}
}

// A SIGTERM that lands while the children are still starting (a service
// manager stopping the studio right after launch) is a clean stop: exit 0 and
// no child left behind.
func TestSIGTERMDuringStartupIsClean(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	p := startProcess(t, filepath.Join(binDir, "master"), append(os.Environ(), "XDG_CONFIG_HOME="+home),
		"-headless", "-children", "all", "-listen", "127.0.0.1:0", "-monitor", "127.0.0.1:0", "-rtmp-listen", "127.0.0.1:0")
	cmd, out, exited := p.cmd, p.out, p.exited

	// The token is written before any child starts. Polled without a pause,
	// so that the signal lands while the children are being started.
	token := filepath.Join(home, "onair", control.TokenFile)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := os.Stat(token); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no token file within 10 s:\n%s", out)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("master did not stop on SIGTERM during startup:\n%s", out)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("master exited with %d on SIGTERM during startup:\n%s", code, out)
	}
	testpeer.Await(t, 5*time.Second, "no child of this studio left", func() bool {
		return len(processesWithEnv("XDG_CONFIG_HOME="+home)) == 0
	})
}

// processesWithEnv lists the pids whose environment holds kv.
func processesWithEnv(kv string) []int {
	var pids []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, e := range strings.Split(string(env), "\x00") {
			if e == kv {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// The master holds the broadcast and must outlive any driver: it links none
// of the codec, GPU or capture libraries (those load only in the encoder), so
// a broken driver install cannot stop it from starting or take it down.
func TestMasterLinksNoCodecOrDriver(t *testing.T) {
	f, err := elf.Open(filepath.Join(binDir, "master"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range libs {
		for _, banned := range []string{"libavcodec", "libavutil", "libx264", "libva", "libvdpau", "libOpenCL", "libmfx", "libcuda", "libyuv"} {
			if strings.HasPrefix(l, banned) {
				t.Errorf("the master links %s", l)
			}
		}
	}
}

// Off loopback the API must be TLS; the master refuses to start otherwise.
func TestNonLoopbackWithoutTLSRefused(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(filepath.Join(binDir, "master"), "-listen", "0.0.0.0:0", "-headless")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "TLS is required") {
		t.Fatalf("master on 0.0.0.0 without TLS: %v\n%s", err, out)
	}
}

// With TLS the client pins the certificate: the right fingerprint works, a
// wrong one is refused, and so is a plain connection.
func TestTLSFingerprintPinned(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil, "-tls", "-children", "encoder")
	if len(m.Fingerprint) != 64 {
		t.Fatalf("fingerprint %q", m.Fingerprint)
	}
	m.Await("the master printing its fingerprint", 10*time.Second, func() bool {
		return strings.Contains(m.Out.String(), m.Fingerprint)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := m.Client.Status(ctx, &pb.StatusRequest{}); err != nil {
		t.Fatalf("right fingerprint: %v", err)
	}
	// Pasted with colons and upper case, as people copy fingerprints.
	var colons []string
	for i := 0; i < len(m.Fingerprint); i += 2 {
		colons = append(colons, strings.ToUpper(m.Fingerprint[i:i+2]))
	}
	if out, err := m.Ctl("-addr", m.Addr, "-fingerprint", strings.Join(colons, ":"), "-token", m.Token, "status"); err != nil {
		t.Fatalf("fingerprint with colons: %v\n%s", err, out)
	}
	wrong := strings.Repeat("ab", 32)
	out, err := m.Ctl("-addr", m.Addr, "-fingerprint", wrong, "-token", m.Token, "status")
	if err == nil || !strings.Contains(out, "does not match the pinned") {
		t.Fatalf("wrong fingerprint accepted: %v\n%s", err, out)
	}
	plain, conn, err := control.Dial(m.Addr, m.Token, "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := plain.Status(ctx, &pb.StatusRequest{}); err == nil {
		t.Fatal("plain-text client accepted by a TLS master")
	}
}

// A malformed config file is refused with its name, line and key.
func TestMalformedConfigRefused(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	path := filepath.Join(home, "onair", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("control:\n  listen: 127.0.0.1:0\nencoder:\n  fps: sixty\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "master"), "-headless")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+home)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), path+":4: encoder.fps:") {
		t.Fatalf("malformed config: %v\n%s", err, out)
	}
}

// Flags override the file.
func TestFlagsOverrideConfigFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cfg.yaml")
	if err := os.WriteFile(dir, []byte("children: plugins\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, nil, "-config", dir)
	st := m.AwaitConfigured(10*time.Second, "pluginhost")
	if len(st.GetChildren()) != 1 {
		t.Fatalf("config file's children: plugins ignored: %v", st.GetChildren())
	}
	m2 := startMaster(t, nil, "-config", dir, "-children", "encoder")
	st = m2.AwaitConfigured(10*time.Second, "encoder")
	if len(st.GetChildren()) != 2 || testpeer.Child(st, "encoder-standby") == nil {
		t.Fatalf("-children encoder did not override the file: %v", st.GetChildren())
	}
}
