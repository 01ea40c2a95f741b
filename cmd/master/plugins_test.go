package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/capture"
	"github.com/onair-studio/onair/internal/testpeer"
)

// startWithPlugins runs a master at 640x360 with the given plugin list
// (YAML list items) from the example plugins.
func startWithPlugins(t *testing.T, list string, extra ...string) *testpeer.Master {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	body := fmt.Sprintf("plugins:\n  dir: %s\n  list:\n%s", filepath.Join(binDir, "plugins"), list)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-config", cfg, "-source", "pattern", "-width", "640", "-height", "360", "-live"}, extra...)
	return startMaster(t, []string{"ONAIR_TEST_FAULTS=1"}, args...)
}

// programFrame decodes one frame of the program as a monitor viewer sees it.
func programFrame(t *testing.T, m *testpeer.Master) *image.RGBA {
	t.Helper()
	url, err := m.Ctl("monitor-url")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", strings.TrimSpace(url),
		"-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg reading the monitor: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(img.Bounds())
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			rgba.Set(x, y, img.At(x, y))
		}
	}
	return rgba
}

// Where the watermark (bottom right) and the clock (top right) draw, the
// program differs from the bare test pattern (areas inside both overlays,
// away from the pattern's moving box and digits).
var (
	watermarkArea = image.Rect(440, 285, 610, 330)
	clockArea     = image.Rect(485, 20, 620, 60)
)

func overlaysVisible(img *image.RGBA) (watermark, clock bool) {
	bare := image.NewRGBA(img.Bounds())
	capture.RenderPattern(bare, 0, time.Now())
	return changed(img, bare, watermarkArea) > 0.5, changed(img, bare, clockArea) > 0.5
}

// changed is the share of r's pixels that differ clearly from the bare
// pattern: far more than H.264 changes, as a drawn overlay does. The
// pattern's flash block is left out: it blinks with the wall clock, so the
// frame and the bare render may disagree there without any overlay.
func changed(img, bare *image.RGBA, r image.Rectangle) float64 {
	flash := capture.PatternFlashRect(img.Bounds().Dx(), img.Bounds().Dy())
	n, total := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if (image.Point{x, y}).In(flash) {
				continue
			}
			a, b := img.RGBAAt(x, y), bare.RGBAAt(x, y)
			if absDiff(a.R, b.R) > 60 || absDiff(a.G, b.G) > 60 || absDiff(a.B, b.B) > 60 {
				n++
			}
			total++
		}
	}
	return float64(n) / float64(total)
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// The clock and the watermark reach the program output where they belong.
func TestPluginOverlaysInProgram(t *testing.T) {
	t.Parallel()
	m := startWithPlugins(t, "    - name: clock\n    - name: watermark\n", "-children", "all")
	m.Await("plugins running", 15*time.Second, func() bool {
		st := m.Status()
		return len(st.GetPlugins()) == 2 && st.GetPlugins()[0].GetState() == "running" && st.GetPlugins()[1].GetState() == "running"
	})
	var wm, clock bool
	var last *image.RGBA
	defer func() {
		if t.Failed() && last != nil {
			saveFrame(t, last, "program-without-overlays.png")
		}
	}()
	m.Await("overlays in the program", 10*time.Second, func() bool {
		last = programFrame(t, m)
		wm, clock = overlaysVisible(last)
		return wm && clock
	})
	// And not without plugins: the same areas of a plugin-free program are
	// the bare pattern.
	bare := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "640", "-height", "360")
	bare.AwaitConfigured(10*time.Second, "encoder")
	if wm, clock := overlaysVisible(programFrame(t, bare)); wm || clock {
		t.Fatalf("overlays found without plugins (watermark %v, clock %v): the check cannot tell", wm, clock)
	}
}

// A crashing plugin costs only itself: the stream never stops, the plugin
// is restarted, and the other plugin is untouched.
func TestCrashingPluginLeavesVideoAlone(t *testing.T) {
	t.Parallel()
	m := startWithPlugins(t, "    - name: clock\n    - name: chaos\n      params: {mode: crash}\n", "-children", "all")
	st := m.Status()
	r := testpeer.StartReader(t, st.GetRtmpPlay(), testpeer.ReaderOptions{})
	m.Await("chaos restarted twice", 20*time.Second, func() bool {
		for _, p := range m.Status().GetPlugins() {
			if p.GetName() == "chaos" && p.GetRestarts() >= 2 {
				return true
			}
		}
		return false
	})
	seen := r.Count()
	m.Await("viewer still receiving", 10*time.Second, func() bool { return r.Count() > seen+30 })
	for _, p := range m.Status().GetPlugins() {
		if p.GetName() == "clock" && (p.GetRestarts() != 0 || p.GetState() != "running") {
			t.Errorf("clock was touched by chaos's crashes: %v", p)
		}
	}
	checkNoFreeze(t, r.Frames(), time.Second)
}

// SIGKILL the pluginhost: the video continues, and the overlays come back
// with the restarted pluginhost.
func TestPluginHostKilled(t *testing.T) {
	t.Parallel()
	m := startWithPlugins(t, "    - name: watermark\n", "-children", "all")
	m.Await("watermark in the program", 20*time.Second, func() bool {
		wm, _ := overlaysVisible(programFrame(t, m))
		return wm
	})
	r := testpeer.StartReader(t, m.Status().GetRtmpPlay(), testpeer.ReaderOptions{})
	m.Await("viewer playing", 10*time.Second, func() bool { return r.Count() > 30 })
	ph := child(m.Status(), "pluginhost")
	if err := syscall.Kill(int(ph.GetPid()), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	m.Await("pluginhost back", 5*time.Second, func() bool {
		c := child(m.Status(), "pluginhost")
		return c.GetState() == "running" && c.GetPid() != ph.GetPid()
	})
	m.Await("watermark back in the program", 20*time.Second, func() bool {
		wm, _ := overlaysVisible(programFrame(t, m))
		return wm
	})
	seen := r.Count()
	m.Await("viewer still receiving", 10*time.Second, func() bool { return r.Count() > seen+30 })
	checkNoFreeze(t, r.Frames(), time.Second)
	if c := child(m.Status(), "encoder"); c.GetRestarts() != 0 {
		t.Errorf("the encoder restarted with the pluginhost: %v", c)
	}
}

// checkNoFreeze fails if the viewer waited longer than limit for a frame.
func checkNoFreeze(t *testing.T, frames []testpeer.Frame, limit time.Duration) {
	t.Helper()
	for i := 1; i < len(frames); i++ {
		if gap := frames[i].At.Sub(frames[i-1].At); gap > limit {
			t.Fatalf("the video stopped for %v at frame %d", gap, i)
		}
	}
}

// saveFrame keeps a picture a failed test looked at, for the person reading
// the failure.
func saveFrame(t *testing.T, img *image.RGBA, name string) {
	dir := os.Getenv("ONAIR_TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err == nil {
		path := filepath.Join(dir, name)
		if os.WriteFile(path, b.Bytes(), 0o644) == nil {
			t.Logf("the frame looked at is in %s", path)
		}
	}
}

// Plugins hear what happens: going live, each destination's state, and a
// child's restart reach the eventlog plugin's file.
func TestPluginEvents(t *testing.T) {
	t.Parallel()
	logFile := filepath.Join(t.TempDir(), "events.log")
	m := startWithPlugins(t, "    - name: eventlog\n      params: {file: "+logFile+"}\n", "-children", "all")
	// startWithPlugins goes live at start; stop and start again so the
	// plugin, running by then, hears both.
	m.Await("eventlog running", 15*time.Second, func() bool {
		p := m.Status().GetPlugins()
		return len(p) == 1 && p[0].GetState() == "running"
	})
	for _, c := range []string{"stop", "start"} {
		if out, err := m.Ctl(c); err != nil {
			t.Fatalf("%s: %v\n%s", c, err, out)
		}
	}
	enc := child(m.Status(), "encoder")
	if err := syscall.Kill(int(enc.GetPid()), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testpeer.Await(t, 15*time.Second, "events in the plugin's file", func() bool {
		b, _ := os.ReadFile(logFile)
		s := string(b)
		return strings.Contains(s, "stream_stopped") && strings.Contains(s, "stream_started") &&
			strings.Contains(s, "destination_state") && strings.Contains(s, `state="live"`) &&
			strings.Contains(s, "child_restarted") && strings.Contains(s, `child="encoder"`)
	})
}
