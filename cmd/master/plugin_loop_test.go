package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// pluginModule is a plugin module written by `master plugin new`.
type pluginModule struct {
	t          *testing.T
	dir        string
	pluginsDir string
}

// newPluginModule runs `master plugin new name` in a fresh directory.
func newPluginModule(t *testing.T, name, pluginsDir string) *pluginModule {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	out, err := exec.Command(filepath.Join(binDir, "master"), "plugin", "new", name, "-dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("master plugin new: %v\n%s", err, out)
	}
	return &pluginModule{t: t, dir: dir, pluginsDir: pluginsDir}
}

// make runs one of the module's make targets.
func (p *pluginModule) make(target string) {
	p.t.Helper()
	cmd := exec.Command("make", "-C", p.dir, target, "PLUGINS_DIR="+p.pluginsDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("make %s: %v\n%s", target, err, out)
	}
}

// edit replaces old with new in the module's main.go.
func (p *pluginModule) edit(old, new string) {
	p.t.Helper()
	path := filepath.Join(p.dir, "main.go")
	src := readFile(p.t, path)
	if !strings.Contains(src, old) {
		p.t.Fatalf("main.go has no %q", old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(src, old, new, 1)), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// programSnapshot is the program picture as the encoder composed it, or an
// empty picture while the encoder is not running.
func programSnapshot(t *testing.T, m *testpeer.Master) *image.RGBA {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := m.Client.Snapshot(ctx, &pb.SnapshotRequest{Format: "png"})
	if err != nil {
		return image.NewRGBA(image.Rect(0, 0, 640, 360))
	}
	img, err := png.Decode(bytes.NewReader(r.GetImage()))
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(img.Bounds())
	draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
	return rgba
}

// Inside the template's box (240x80 at 16,16 of the program), away from its
// text.
var boxCorner = image.Rect(20, 20, 40, 30)

// showsColour reports whether all of r is close to the colour c (#rrggbb).
func showsColour(img *image.RGBA, r image.Rectangle, c string) bool {
	var want [3]int
	fmt.Sscanf(c, "#%02x%02x%02x", &want[0], &want[1], &want[2])
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := img.RGBAAt(x, y)
			if absDiff(p.R, uint8(want[0])) > 24 || absDiff(p.G, uint8(want[1])) > 24 || absDiff(p.B, uint8(want[2])) > 24 {
				return false
			}
		}
	}
	return true
}

func pluginState(st *pb.MasterStatus, name string) *pb.PluginState {
	for _, p := range st.GetPlugins() {
		if p.GetName() == name {
			return p
		}
	}
	return &pb.PluginState{}
}

// The plugin author's loop against a real studio: a new plugin module
// builds, tests and installs as generated, and its overlay is in the
// program; a parameter changes live and is saved, and wrong values are all
// named and change nothing; a rebuilt plugin is reloaded without any
// command and without touching the other plugin or the stream; a plugin in
// its crash loop comes back when a fixed build is installed. The OnAir
// checkout is not changed by any of it.
func TestPluginAuthorLoop(t *testing.T) {
	t.Parallel()
	testpeer.Need(t, "make")
	root := filepath.Dir(strings.TrimSpace(string(must(exec.Command("go", "env", "GOMOD").Output()))))
	gitStatus := func() string {
		out, _ := exec.Command("git", "-C", root, "status", "--porcelain").Output()
		return string(out)
	}
	before := gitStatus()

	pluginsDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(pluginsDir, "clock"), must(os.ReadFile(filepath.Join(binDir, "plugins", "clock"))), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(filepath.Join(binDir, "pluginhost"), "-write-manifest", pluginsDir).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	hello := newPluginModule(t, "hello", pluginsDir)
	hello.make("test")
	hello.make("install")

	cfg := filepath.Join(t.TempDir(), "config.yaml")
	body := fmt.Sprintf("plugins:\n  dir: %s\n  list:\n    - name: clock\n    - name: hello\n", pluginsDir)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, nil, "-config", cfg, "-source", "pattern", "-width", "640", "-height", "360", "-live", "-children", "all")
	m.AwaitConfigured(20*time.Second, "encoder", "pluginhost")
	var last *image.RGBA
	defer func() {
		if t.Failed() && last != nil {
			saveFrame(t, last, "plugin-loop-program.png")
		}
	}()
	inProgram := func(what, colour string) time.Duration {
		t.Helper()
		return m.Await(what, 20*time.Second, func() bool {
			last = programSnapshot(t, m)
			return showsColour(last, boxCorner, colour)
		})
	}
	inProgram("the new plugin's box in the program", "#3060ff")
	r := testpeer.StartReader(t, m.Status().GetRtmpPlay(), testpeer.ReaderOptions{})
	m.Await("viewer playing", 10*time.Second, func() bool { return r.Count() > 30 })

	// A live parameter change: the text area changes, the config keeps it.
	textArea := image.Rect(16+40, 16+20, 16+200, 16+60)
	shown := programSnapshot(t, m)
	if out, err := m.Ctl("plugin", "set", "hello", "text=BYE"); err != nil {
		t.Fatalf("plugin set: %v\n%s", err, out)
	}
	took := m.Await("BYE in the program", 10*time.Second, func() bool {
		last = programSnapshot(t, m)
		return changed(last, shown, textArea) > 0.05
	})
	t.Logf("text=BYE in the program after %v", took)
	if !strings.Contains(readFile(t, cfg), "text: BYE") {
		t.Errorf("the change is not in the config:\n%s", readFile(t, cfg))
	}
	saved := readFile(t, cfg)
	out, err := m.Ctl("plugin", "set", "hello", "width=abc", "height=-1")
	if err == nil || !strings.Contains(out, `parameter width: "abc" is not a valid int (want a whole number)`) ||
		!strings.Contains(out, `parameter height: "-1" is out of range (want a whole number from 16 to 3072)`) {
		t.Errorf("bad values: err %v, output:\n%s", err, out)
	}
	if p := pluginState(m.Status(), "hello"); p.GetParams()["width"] != "240" || p.GetParams()["height"] != "80" {
		t.Errorf("refused values changed the plugin: %v", p.GetParams())
	}
	if now := readFile(t, cfg); now != saved {
		t.Errorf("refused values changed the config:\n%s", now)
	}

	// Hot reload: another colour, built and installed; nothing else.
	clock, old := pluginState(m.Status(), "clock"), pluginState(m.Status(), "hello")
	skipped := m.Status().GetEncoder().GetSkippedFrames()
	hello.edit(`Default: "#3060ff"`, `Default: "#ff8000"`)
	hello.make("install")
	took = inProgram("the rebuilt plugin's colour in the program", "#ff8000")
	t.Logf("rebuilt plugin in the program %v after its install", took)
	// The program can show the new build before the master's copy of the
	// plugin states has heard of its new process.
	m.Await("hello's new process in status", 10*time.Second, func() bool {
		return pluginState(m.Status(), "hello").GetPid() != old.GetPid()
	})
	st := m.Status()
	if p := pluginState(st, "hello"); p.GetPid() == old.GetPid() || p.GetRestarts() != old.GetRestarts()+1 {
		t.Errorf("hello after its reload: pid %d -> %d, restarts %d -> %d", old.GetPid(), p.GetPid(), old.GetRestarts(), p.GetRestarts())
	}
	if p := pluginState(st, "clock"); p.GetPid() != clock.GetPid() || p.GetRestarts() != clock.GetRestarts() {
		t.Errorf("clock was restarted by hello's install: %v", p)
	}
	if s := st.GetEncoder().GetSkippedFrames(); s != skipped {
		t.Errorf("the encoder skipped %d frames during the reload", s-skipped)
	}

	// A build that panics in Render reaches its crash loop; a fixed build
	// brings it back without any other command.
	hello.edit("img := image.NewRGBA", `panic("broken build"); img := image.NewRGBA`)
	hello.make("install")
	m.Await("hello in its crash loop", 40*time.Second, func() bool {
		p := pluginState(m.Status(), "hello")
		return p.GetState() == "failed" && strings.Contains(p.GetError(), "stays stopped until")
	})
	hello.edit(`panic("broken build"); img := image.NewRGBA`, "img := image.NewRGBA")
	hello.make("install")
	inProgram("the fixed plugin back in the program", "#ff8000")
	if p := pluginState(m.Status(), "clock"); p.GetPid() != clock.GetPid() || p.GetRestarts() != clock.GetRestarts() {
		t.Errorf("clock was restarted by hello's crash loop: %v", p)
	}
	// The other plugin commands, each touching only the plugin named.
	if out, err := m.Ctl("plugin", "list"); err != nil || !strings.Contains(out, "hello") || !strings.Contains(out, "running") {
		t.Errorf("plugin list: %v\n%s", err, out)
	}
	old = pluginState(m.Status(), "hello")
	if out, err := m.Ctl("plugin", "restart", "hello"); err != nil {
		t.Fatalf("plugin restart: %v\n%s", err, out)
	}
	m.Await("hello restarted", 10*time.Second, func() bool {
		p := pluginState(m.Status(), "hello")
		return p.GetState() == "running" && p.GetPid() != old.GetPid()
	})
	restarted := pluginState(m.Status(), "hello")
	if p := pluginState(m.Status(), "clock"); p.GetPid() != clock.GetPid() {
		t.Errorf("clock was restarted with hello: %v", p)
	}
	if out, err := m.Ctl("plugin", "rm", "clock"); err != nil || strings.Contains(readFile(t, cfg), "name: clock") {
		t.Fatalf("plugin rm: %v\n%s\nconfig:\n%s", err, out, readFile(t, cfg))
	}
	m.Await("clock unloaded", 10*time.Second, func() bool { return !alive(int(clock.GetPid())) })
	if out, err := m.Ctl("plugin", "add", "clock", "text=ADDED"); err != nil || !strings.Contains(readFile(t, cfg), "ADDED") {
		t.Fatalf("plugin add: %v\n%s\nconfig:\n%s", err, out, readFile(t, cfg))
	}
	m.Await("clock back", 10*time.Second, func() bool { return pluginState(m.Status(), "clock").GetState() == "running" })
	if p := pluginState(m.Status(), "hello"); p.GetPid() != restarted.GetPid() {
		t.Errorf("hello was restarted by the clock's removal and return: %v", p)
	}

	seen := r.Count()
	m.Await("viewer still receiving", 10*time.Second, func() bool { return r.Count() > seen+30 })
	checkNoFreeze(t, r.Frames(), time.Second)
	if after := gitStatus(); after != before {
		t.Errorf("the OnAir checkout changed:\n%s\nwas:\n%s", after, before)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
