package pluginhost

import (
	"context"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/plugins/sdk"
	"github.com/onair-studio/onair/stub"
	"github.com/onair-studio/onair/stub/pb"
)

// Clock and watermark overlays arrive with the right rectangles and visible
// pixels; an overlay that does not change is sent once; a new output size
// re-renders.
func TestOverlays(t *testing.T) {
	h := newHarness(t, "clock", "watermark")
	h.configure(
		pspec("clock", "text", "HELLO", "position", "10,20", "size", "32"),
		pspec("watermark"),
	)
	h.awaitRunning("clock", "watermark")
	w := h.watch(640, 360)
	w.await("both overlays", 5*time.Second, func() bool { return w.current("clock") != nil && w.current("watermark") != nil })

	// The clock: the text box at 10,20, sized by the SDK's font.
	c := w.current("clock")
	want := sdk.TextSize("HELLO", 32).Add(image.Pt(2*8, 2*8)) // padding is a quarter of the text height
	if c.GetX() != 10 || c.GetY() != 20 || int(c.GetWidth()) != want.X || int(c.GetHeight()) != want.Y {
		t.Fatalf("clock overlay %dx%d at %d,%d, want %dx%d at 10,20", c.GetWidth(), c.GetHeight(), c.GetX(), c.GetY(), want.X, want.Y)
	}
	if len(c.GetRgba()) != int(c.GetWidth()*c.GetHeight()*4) || c.GetOpacity() != 1 {
		t.Fatalf("clock overlay: %d bytes, opacity %g", len(c.GetRgba()), c.GetOpacity())
	}
	if p := pixel(c, 0, 0); p[3] != 0x99 {
		t.Errorf("clock box corner %v, want the background's alpha 0x99", p)
	}
	if !hasPixel(c, func(p [4]byte) bool { return p[3] == 255 && p[0] > 200 && p[1] > 200 && p[2] > 200 }) {
		t.Error("clock overlay has no white text pixel")
	}

	// The watermark: the 200x72 built-in logo, bottom-right with a 16-pixel
	// margin, at opacity 0.8.
	m := w.current("watermark")
	if m.GetWidth() != 200 || m.GetHeight() != 72 || m.GetX() != 640-200-16 || m.GetY() != 360-72-16 || m.GetOpacity() != 0.8 {
		t.Fatalf("watermark overlay %dx%d at %d,%d opacity %g, want 200x72 at 424,272 opacity 0.8",
			m.GetWidth(), m.GetHeight(), m.GetX(), m.GetY(), m.GetOpacity())
	}
	if p := pixel(m, 100, 4); p[3] != 255 || p[0] < 150 {
		t.Errorf("watermark pixel 100,4 is %v, want opaque red", p)
	}
	if p := pixel(m, 0, 0); p[3] == 255 {
		t.Errorf("watermark corner %v, want the rounded corner transparent", p)
	}

	// Nothing changes: after ten more renders each, still one message each.
	cr, mr := h.plugin("clock").GetRenders(), h.plugin("watermark").GetRenders()
	h.awaitPlugin("clock", "10 more renders", 5*time.Second, func(p *pb.PluginState) bool { return p.GetRenders() >= cr+10 })
	h.awaitPlugin("watermark", "10 more renders", 5*time.Second, func(p *pb.PluginState) bool { return p.GetRenders() >= mr+10 })
	if n, k := len(w.messages("clock")), len(w.messages("watermark")); n != 1 || k != 1 {
		t.Fatalf("unchanged overlays sent again: %d clock and %d watermark messages, want 1 each", n, k)
	}
	if f := h.plugin("clock").GetFrames(); f != 1 {
		t.Errorf("clock frames %d, want 1", f)
	}

	// A watcher for another output size gets the overlays rendered anew.
	w2 := h.watch(1280, 720)
	w2.await("watermark at 1280x720", 5*time.Second, func() bool {
		m := w2.current("watermark")
		return m != nil && m.GetX() == 1280-200-16 && m.GetY() == 720-72-16
	})
	w2.await("clock at 1280x720", 5*time.Second, func() bool { return w2.current("clock") != nil })
}

func hasPixel(ov *pb.Overlay, f func([4]byte) bool) bool {
	for y := 0; y < int(ov.GetHeight()); y++ {
		for x := 0; x < int(ov.GetWidth()); x++ {
			if f(pixel(ov, x, y)) {
				return true
			}
		}
	}
	return false
}

// A plugin that crashes is restarted: its overlay goes and comes back, while
// the other plugins' overlays keep changing; after the crash-loop limit it
// stays failed.
func TestChaosCrash(t *testing.T) {
	h := newHarness(t, "clock", "chaos")
	h.configure(
		pspec("clock", "format", "15:04:05.0"), // changes every 100 ms
		pspec("chaos", "mode", "crash", "after", "300ms"),
	)
	w := h.watch(640, 360)
	w.await("chaos overlay", 10*time.Second, func() bool { return w.current("chaos") != nil })
	w.await("chaos overlay removed", 5*time.Second, func() bool { return w.current("chaos") == nil })
	atRemoval := w.version("clock")
	w.await("chaos overlay back", 5*time.Second, func() bool { return w.current("chaos") != nil })
	atReturn := w.version("clock")
	if atReturn <= atRemoval {
		t.Errorf("clock overlay did not change while chaos restarted (version %d then %d)", atRemoval, atReturn)
	}
	st := h.plugin("chaos")
	if st.GetRestarts() < 1 || !strings.Contains(st.GetLastExit(), "panic: chaos: crash on command") ||
		!strings.Contains(st.GetLastExit(), filepath.Join(h.dir, "chaos")) {
		t.Fatalf("chaos after a crash: restarts %d, last exit %q", st.GetRestarts(), st.GetLastExit())
	}
	// It keeps crashing: five crashes within a minute leave it failed.
	st = h.awaitPlugin("chaos", "failed", 20*time.Second, func(p *pb.PluginState) bool { return p.GetState() == StateFailed })
	if !strings.Contains(st.GetError(), "crashed 5 times") {
		t.Errorf("failed chaos error %q, want the crash loop named", st.GetError())
	}
	v := w.version("clock")
	w.await("clock still updating", 5*time.Second, func() bool { return w.version("clock") >= v+3 })
	if c := h.plugin("clock"); c.GetRestarts() != 0 || c.GetState() != StateRunning {
		t.Errorf("clock: %s with %d restarts, want running with none", c.GetState(), c.GetRestarts())
	}
	t.Logf("chaos: %d restarts, error: %s", st.GetRestarts(), st.GetError())
}

// A plugin whose Render hangs is killed after the render deadline and
// restarted, and the others keep rendering meanwhile; one whose OnEvent
// hangs is killed after the call deadline.
func TestChaosHang(t *testing.T) {
	t.Run("render", func(t *testing.T) {
		h := newHarness(t, "clock", "chaos")
		h.configure(pspec("clock", "format", "15:04:05.0"), pspec("chaos", "mode", "hang", "after", "200ms"))
		w := h.watch(640, 360)
		w.await("chaos overlay", 10*time.Second, func() bool { return w.current("chaos") != nil })
		before := w.version("clock")
		st := h.awaitPlugin("chaos", "restarted", 10*time.Second, func(p *pb.PluginState) bool { return p.GetRestarts() >= 1 })
		if !strings.Contains(st.GetLastExit(), "Render did not answer within 500ms, killed") {
			t.Fatalf("chaos last exit %q, want the render deadline", st.GetLastExit())
		}
		// The hang lasted 500 ms: the clock changed meanwhile.
		if after := w.version("clock"); after < before+3 {
			t.Errorf("clock overlay versions %d then %d while chaos hung, want it to keep changing", before, after)
		}
		h.awaitPlugin("chaos", "running again", 10*time.Second, func(p *pb.PluginState) bool { return p.GetState() == StateRunning })
	})
	t.Run("event", func(t *testing.T) {
		h := newHarness(t, "chaos")
		// Nobody watches overlays, so chaos is not rendered: only the event
		// can hang it.
		h.configure(pspec("chaos", "mode", "hang"))
		h.awaitRunning("chaos")
		start := time.Now()
		if _, err := h.client.Event(context.Background(), &pb.PluginEvent{Kind: "stream_started"}); err != nil {
			t.Fatal(err)
		}
		// Waiting for the hung plugin would take its whole 2 s deadline;
		// under that, only a busy machine's scheduling is measured.
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Errorf("Event took %s: it must not wait for plugins", d)
		}
		st := h.awaitPlugin("chaos", "restarted", 10*time.Second, func(p *pb.PluginState) bool { return p.GetRestarts() >= 1 })
		if !strings.Contains(st.GetLastExit(), "OnEvent did not answer within 2s, killed") {
			t.Fatalf("chaos last exit %q, want the event deadline", st.GetLastExit())
		}
	})
}

// Malformed frames are rejected with the reason in the plugin's state; the
// plugin keeps running and its next good frame shows.
func TestChaosGarbage(t *testing.T) {
	h := newHarness(t, "chaos")
	h.configure(pspec("chaos"))
	w := h.watch(640, 360)
	w.await("chaos overlay", 10*time.Second, func() bool { return w.current("chaos") != nil })
	pid := h.plugin("chaos").GetPid()
	for _, c := range []struct{ kind, want string }{
		{"length", "rgba is 960 bytes, want 16x16x4 = 1024"},
		{"offscreen", "is not inside the 640x360 output"},
		{"huge", "absurd size 1048576x1048576"},
		{"negative", "at -10,0 is not inside"},
		{"straight", "not premultiplied"},
		{"opacity", "opacity 2 is not within 0..1"},
	} {
		h.configure(pspec("chaos", "mode", "garbage", "garbage", c.kind))
		st := h.awaitPlugin("chaos", c.kind+" rejected", 5*time.Second, func(p *pb.PluginState) bool {
			return strings.Contains(p.GetError(), c.want)
		})
		if !strings.Contains(st.GetError(), filepath.Join(h.dir, "chaos")+": frame rejected: ") {
			t.Errorf("error %q does not name the binary", st.GetError())
		}
		if w.current("chaos") != nil {
			t.Errorf("%s: the overlay is still shown after a rejected frame", c.kind)
		}
	}
	h.configure(pspec("chaos", "mode", "ok"))
	w.await("chaos overlay back", 5*time.Second, func() bool { return w.current("chaos") != nil })
	st := h.awaitPlugin("chaos", "error cleared", 5*time.Second, func(p *pb.PluginState) bool { return p.GetError() == "" })
	if st.GetState() != StateRunning || st.GetRestarts() != 0 || st.GetPid() != pid || st.GetRejectedFrames() < 6 {
		t.Fatalf("after garbage: %s, %d restarts, pid %d (was %d), %d rejected", st.GetState(), st.GetRestarts(),
			st.GetPid(), pid, st.GetRejectedFrames())
	}
}

// Binaries that must not or cannot run each get a clear error while the
// good plugin loads; fixing the manifest and configuring again retries.
func TestBadBinaries(t *testing.T) {
	h := newHarness(t, "clock", "otherproto")
	install(t, h.dir, "clock", "noexec")
	if err := os.Chmod(filepath.Join(h.dir, "noexec"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "notplugin"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	install(t, h.dir, "pluginhost", "otherhost") // a go-plugin binary for another program
	install(t, h.dir, "watermark", "badsum")
	if _, err := WriteManifest(h.dir); err != nil {
		t.Fatal(err)
	}
	// Changed after the manifest was written.
	f, err := os.OpenFile(filepath.Join(h.dir, "badsum"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0})
	f.Close()
	install(t, h.dir, "clock", "unlisted")

	specs := []*pb.PluginSpec{pspec("clock"), pspec("noexec"), pspec("notplugin"), pspec("otherhost"), pspec("badsum"),
		pspec("otherproto"), pspec("unlisted"), pspec("missing")}
	h.configure(specs...)
	h.awaitRunning("clock")
	for _, c := range []struct{ name, want string }{
		{"noexec", "not executable (mode -rw-r--r--)"},
		{"notplugin", "not an OnAir plugin: it exited (exit status 0) without the plugin handshake"},
		{"otherhost", "not an OnAir plugin: it is a plugin for another program"},
		{"badsum", "checksum mismatch: the file's sha256 is "},
		{"otherproto", "speaks plugin protocol 2 but this pluginhost speaks 1"},
		{"unlisted", "not listed in " + filepath.Join(h.dir, ManifestName)},
		{"missing", "no such file"},
	} {
		st := h.awaitPlugin(c.name, "failed", 15*time.Second, func(p *pb.PluginState) bool { return p.GetState() == StateFailed })
		if !strings.Contains(st.GetError(), c.want) || !strings.HasPrefix(st.GetError(), filepath.Join(h.dir, c.name)+": ") {
			t.Errorf("%s: error %q, want it to name the binary and say %q", c.name, st.GetError(), c.want)
		}
		t.Logf("%s: %s", c.name, st.GetError())
	}
	if st := h.plugin("clock"); st.GetState() != StateRunning || st.GetRestarts() != 0 {
		t.Errorf("clock: %s, %d restarts", st.GetState(), st.GetRestarts())
	}

	// The user trusts the changed binary: a new manifest and the same
	// configuration bring it up.
	if _, err := WriteManifest(h.dir); err != nil {
		t.Fatal(err)
	}
	h.configure(specs...)
	h.awaitRunning("badsum")
}

// The same configuration twice changes nothing; changed params re-configure
// the running process; a plugin no longer named is unloaded and its process
// ends.
func TestConfigureIdempotent(t *testing.T) {
	h := newHarness(t, "clock", "watermark")
	cfg := []*pb.PluginSpec{pspec("clock", "text", "ONE"), pspec("watermark", "position", "top-left")}
	h.configure(cfg...)
	h.awaitRunning("clock", "watermark")
	w := h.watch(640, 360)
	w.await("overlays", 5*time.Second, func() bool { return w.current("clock") != nil && w.current("watermark") != nil })
	c0, m0 := h.plugin("clock"), h.plugin("watermark")

	h.configure(cfg...)
	h.awaitPlugin("clock", "5 more renders", 5*time.Second, func(p *pb.PluginState) bool { return p.GetRenders() >= c0.GetRenders()+5 })
	for _, p := range []*pb.PluginState{c0, m0} {
		now := h.plugin(p.GetName())
		if now.GetPid() != p.GetPid() || now.GetConfigures() != p.GetConfigures() || now.GetRestarts() != 0 || now.GetState() != StateRunning {
			t.Fatalf("%s after the same config: pid %d→%d, configures %d→%d, restarts %d, %s", p.GetName(),
				p.GetPid(), now.GetPid(), p.GetConfigures(), now.GetConfigures(), now.GetRestarts(), now.GetState())
		}
	}
	if n := len(w.messages("clock")); n != 1 {
		t.Fatalf("clock overlay sent %d times, want once", n)
	}

	// New text: the same process is configured again and draws it.
	oneWidth := w.current("clock").GetWidth()
	h.configure(pspec("clock", "text", "THREE"), pspec("watermark", "position", "top-left"))
	st := h.awaitPlugin("clock", "re-configured", 5*time.Second, func(p *pb.PluginState) bool {
		return p.GetConfigures() == c0.GetConfigures()+1 && p.GetParams()["text"] == "THREE"
	})
	if st.GetPid() != c0.GetPid() || st.GetRestarts() != 0 {
		t.Fatalf("clock restarted for new params: pid %d→%d, restarts %d", c0.GetPid(), st.GetPid(), st.GetRestarts())
	}
	w.await("new clock text", 5*time.Second, func() bool {
		c := w.current("clock")
		return c != nil && c.GetWidth() > oneWidth
	})

	// Watermark dropped: unloaded, its overlay removed, its process gone.
	h.configure(pspec("clock", "text", "THREE"))
	h.awaitPlugin("watermark", "unloaded", 5*time.Second, func(p *pb.PluginState) bool {
		return p.GetState() == StateUnloaded && p.GetPid() == 0
	})
	testpeer.Await(t, 5*time.Second, "watermark process gone", func() bool { return !testpeer.Alive(int(m0.GetPid())) })
	w.await("watermark overlay removed", 5*time.Second, func() bool { return w.current("watermark") == nil })
	if m := w.messages("watermark"); !m[len(m)-1].GetRemoved() {
		t.Errorf("last watermark message %v, want removed", m[len(m)-1])
	}
	if c := h.plugin("clock"); c.GetPid() != c0.GetPid() {
		t.Errorf("clock restarted when watermark was unloaded")
	}
}

// Events reach an event plugin's OnEvent, in order.
func TestEventLog(t *testing.T) {
	h := newHarness(t, "eventlog")
	logFile := filepath.Join(t.TempDir(), "events.log")
	h.configure(pspec("eventlog", "file", logFile))
	h.awaitRunning("eventlog")
	events := []*pb.PluginEvent{
		{Kind: "stream_started", UnixMs: 1700000000000},
		{Kind: "destination_state", Fields: map[string]string{"destination": "rtmp://a/live", "state": "retrying"}},
		{Kind: "stream_stopped"},
	}
	for _, e := range events {
		if _, err := h.client.Event(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	var lines []string
	testpeer.Await(t, 5*time.Second, "three lines in the log", func() bool {
		data, _ := os.ReadFile(logFile)
		lines = strings.Split(strings.TrimSpace(string(data)), "\n")
		return len(lines) == 3
	})
	for i, want := range []string{
		"2023-11-14T22:13:20.000Z stream_started",
		`destination_state destination="rtmp://a/live" state="retrying"`,
		"stream_stopped",
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d %q, want %q", i+1, lines[i], want)
		}
	}
	if st := h.plugin("eventlog"); st.GetKind() != sdk.KindEvent || st.GetEventsDropped() != 0 || st.GetError() != "" {
		t.Errorf("eventlog state %v", st)
	}
}

// The real pluginhost binary, started as the master starts it: its plugins'
// overlays cross both gRPC hops at full HD, and killing it kills its
// plugins.
func TestChildBinary(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "clock", "clock")
	install(t, dir, "watermark", "watermark")
	if _, err := WriteManifest(dir); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "pluginhost"))
	client := plugin.NewClient(&plugin.ClientConfig{
		Stderr:          testWriter{t},
		HandshakeConfig: stub.Handshake, Plugins: stub.Plugins, Cmd: cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC}, AutoMTLS: true,
		GRPCDialOptions: stub.DialOptions(), Logger: hclog.NewNullLogger(),
	})
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rpc.Dispense(stub.PluginHostName)
	if err != nil {
		t.Fatal(err)
	}
	host := raw.(pb.PluginHostClient)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = host.Configure(ctx, &pb.PluginHostConfig{Revision: 1, PluginsDir: dir, Plugins: []*pb.PluginSpec{
		// A full-screen watermark: 1920x1080 RGBA is 8 MB, more than
		// gRPC's default message size.
		pspec("watermark", "width", "1920", "position", "top-left", "margin", "0"),
		pspec("clock"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := host.WatchOverlays(ctx, &pb.WatchOverlaysRequest{Width: 1920, Height: 1080})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*pb.Overlay{}
	for len(got) < 2 {
		ov, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		got[ov.GetId()] = ov
	}
	if m := got["watermark"]; m.GetWidth() != 1920 || len(m.GetRgba()) != 1920*int(m.GetHeight())*4 {
		t.Fatalf("watermark overlay %dx%d with %d bytes", m.GetWidth(), m.GetHeight(), len(m.GetRgba()))
	}
	st, err := host.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range st.GetPlugins() {
		if p.GetPid() == 0 {
			t.Fatalf("%s has no process: %v", p.GetName(), p)
		}
		pids = append(pids, int(p.GetPid()))
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		testpeer.Await(t, 5*time.Second, "plugin killed with the pluginhost", func() bool { return !testpeer.Alive(pid) })
	}
}
