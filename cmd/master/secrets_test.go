package main

import (
	"context"
	"fmt"
	"image"
	_ "image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/testpeer"
)

// headerRecorder is a stranger's gRPC server: it answers every call with an
// error and keeps the headers it was sent.
type headerRecorder struct {
	mu      sync.Mutex
	headers []string
}

func startHeaderRecorder(t *testing.T, addr string) (*headerRecorder, string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &headerRecorder{}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(stream.Context())
		r.mu.Lock()
		for k, vs := range md {
			for _, v := range vs {
				r.headers = append(r.headers, k+": "+v)
			}
		}
		r.mu.Unlock()
		return status.Error(codes.Unimplemented, "not a master")
	}))
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return r, ln.Addr().String()
}

func (r *headerRecorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.headers, "\n")
}

// ctlEnv runs `master ctl` like m.Ctl, with more environment.
func ctlEnv(m *testpeer.Master, env []string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(m.BinDir, "master"), append([]string{"ctl"}, args...)...)
	cmd.Env = append(append([]string{}, m.Env...), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// writeSecret writes a token or key to a file only the user can read.
func writeSecret(t *testing.T, secret string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// nonLoopbackIP is an address of this machine off loopback, or "".
func nonLoopbackIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// `master ctl -addr OTHER` never sends this machine's token to OTHER: the
// user gives OTHER's token, and off loopback only over TLS.
func TestLocalTokenStaysLocal(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil, "-children", "plugins")
	stranger, addr := startHeaderRecorder(t, "127.0.0.1:0")

	out, err := m.Ctl("-addr", addr, "status")
	if got := stranger.all(); got != "" {
		t.Fatalf("given no token, ctl sent the stranger:\n%s", got)
	}
	if err == nil || !strings.Contains(out, "no token given for "+addr) {
		t.Fatalf("ctl to another address without a token: %v\n%s", err, out)
	}
	const other = "token-of-the-other-master"
	out, err = ctlEnv(m, []string{"ONAIR_TOKEN=" + other}, "-addr", addr, "status")
	if err == nil || !strings.Contains(out, "not a master") {
		t.Fatalf("ctl to the stranger with its token: %v\n%s", err, out)
	}
	if got := stranger.all(); !strings.Contains(got, "Bearer "+other) || strings.Contains(got, m.Token) {
		t.Fatalf("the stranger got these headers:\n%s\nwant the token given for it and never the local one", got)
	}

	if ip := nonLoopbackIP(); ip == "" {
		t.Log("no address off loopback here: plain-text refusal not checked")
	} else {
		remote, raddr := startHeaderRecorder(t, ip+":0")
		out, err = m.Ctl("-addr", raddr, "-token-file", writeSecret(t, other), "status")
		if err == nil || !strings.Contains(out, "only over TLS") {
			t.Fatalf("plain-text ctl off loopback: %v\n%s", err, out)
		}
		if got := remote.all(); got != "" {
			t.Fatalf("a plain-text master off loopback got:\n%s", got)
		}
	}

	// The local master under another name is not the one in the endpoint
	// file: its token, from a file, works.
	_, port, _ := net.SplitHostPort(m.Addr)
	if out, err := m.Ctl("-addr", "localhost:"+port, "-token-file", writeSecret(t, m.Token), "status"); err != nil {
		t.Fatalf("ctl with -token-file: %v\n%s", err, out)
	}
}

// A destination's stream key can come from a file, out of the master's
// arguments (which every user can read in ps), and still reaches the live
// server.
func TestDestKeyFile(t *testing.T) {
	t.Parallel()
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	const key = "key-from-a-file-1234"
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180",
		"-dest", "rtmp://"+nginx.Addr()+"/live", "-dest-key-file", writeSecret(t, key), "-live")
	m.Await("destination live", 15*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
	})
	if n := nginx.Publishes(key); n != 1 {
		t.Fatalf("nginx saw %d publishes of the key from the file, want 1", n)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", m.Cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"arguments": string(cmdline), "log": m.Out.String(), "status": destinations(m.Status())} {
		if strings.Contains(text, key) {
			t.Errorf("the stream key is in the master's %s:\n%s", what, text)
		}
	}
}

// The monitor plays through the pipe `master ctl monitor-url -ffconcat`
// documents, so its password is in no process's arguments.
func TestMonitorThroughPipe(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180")
	m.Await("program frames at the master", 15*time.Second, func() bool { return m.Status().GetProgramFrames() > 0 })
	script, err := m.Ctl("monitor-url", "-ffconcat")
	if err != nil {
		t.Fatalf("monitor-url -ffconcat: %v\n%s", err, script)
	}
	// The player's arguments as documented, with ffmpeg in ffplay's place.
	_, player, ok := strings.Cut(monitorPlayer, "| ffplay ")
	if !ok {
		t.Fatalf("the documented player is not ffplay: %s", monitorPlayer)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(strings.Fields(player), "-frames:v", "10", "-f", "framemd5", "-")
	ff := exec.CommandContext(ctx, "ffmpeg", append([]string{"-v", "error"}, args...)...)
	ff.Stdin = strings.NewReader(script)
	out, err := ff.Output()
	if err != nil {
		t.Fatalf("ffmpeg reading the monitor from the pipe: %v\n%s", err, out)
	}
	frames := 0 // video lines: the monitor carries the sound too (stream 1)
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "0,") {
			frames++
		}
	}
	if frames != 10 {
		t.Fatalf("ffmpeg decoded %d frames from the monitor, want 10:\n%s", frames, out)
	}
}

// A snapshot of a 4K program of noise, the largest PNG there is (~25 MB,
// over gRPC's default 4 MiB), arrives whole.
func TestSnapshot4K(t *testing.T) {
	t.Parallel()
	noise := filepath.Join(t.TempDir(), "noise.png")
	gen := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i",
		"nullsrc=s=3840x2160,geq=r='random(1)*255':g='random(2)*255':b='random(3)*255'", "-frames:v", "1", noise)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("making the noise picture: %v\n%s", err, out)
	}
	m := startMaster(t, nil, "-children", "encoder", "-source", "image:"+noise,
		"-width", "3840", "-height", "2160", "-fps", "1", "-preset", "ultrafast")
	m.Await("frames composed", 30*time.Second, func() bool { return m.Status().GetEncoder().GetCapturedFrames() > 0 })
	file := filepath.Join(t.TempDir(), "snap.png")
	if out, err := m.Ctl("-timeout", "60s", "snapshot", "-o", file); err != nil {
		t.Fatalf("snapshot: %v\n%s", err, out)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil || cfg.Width != 3840 || cfg.Height != 2160 || fi.Size() < 20<<20 {
		t.Fatalf("snapshot of %d bytes, %dx%d (%v); want 3840x2160 and over 20 MB", fi.Size(), cfg.Width, cfg.Height, err)
	}
	t.Logf("4K snapshot: %d bytes", fi.Size())
}

// A destination that is not rtmp:// or rtmps:// is refused when it is
// given, with where and why, wherever it comes from: a flag, the config
// file or the API. Nothing is saved.
func TestNonRTMPDestinationRefused(t *testing.T) {
	t.Parallel()
	const key = "sk_live_5ecret"
	home := t.TempDir()
	// A master that takes the destination runs until the test's end.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "master"), "-headless", "-dest", "http://127.0.0.1/live/"+key)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+home)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `destinations.0.url: unsupported scheme "http"`) || strings.Contains(string(out), key) {
		t.Fatalf("-dest http://: %v\n%s", err, out)
	}

	cfg := filepath.Join(home, "onair", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("destinations:\n  - https://example.com/live/"+key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = exec.CommandContext(ctx, filepath.Join(binDir, "master"), "-headless")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+home)
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), cfg+`:2: destinations.0.url: unsupported scheme "https"`) || strings.Contains(string(out), key) {
		t.Fatalf("an https:// destination in the config file: %v\n%s", err, out)
	}

	m := startMaster(t, nil, "-children", "plugins")
	before := destinations(m.Status())
	out2, err := ctlStdin(m, key, "dest", "add", "-name", "web", "-url", "http://example.com/live", "-key-stdin")
	if err == nil || !strings.Contains(out2, `unsupported scheme "http" in http://example.com/`) {
		t.Fatalf("ctl dest add http://: %v\n%s", err, out2)
	}
	if after := destinations(m.Status()); after != before {
		t.Fatalf("destinations changed by a refused add:%s\nwas:%s", after, before)
	}
	saved, _ := os.ReadFile(filepath.Join(m.ConfigHome, "onair", "config.yaml"))
	if strings.Contains(string(saved), "http://") {
		t.Fatalf("the refused destination was saved:\n%s", saved)
	}
	if _, err := os.Stat(filepath.Join(m.ConfigHome, "onair", "stream-keys", "web")); err == nil {
		t.Fatal("the refused destination's key was stored")
	}
}
