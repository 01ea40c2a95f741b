package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/capture/xvfb"
	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// screenshotDir is where the window pictures go, from the repository root.
var screenshotDir = filepath.Join("..", "..", "build", "screenshots")

// The real window under Xvfb: plain `master` starts a detached engine and
// opens the studio on it; Go Live is clicked with xdotool and the stream
// reaches nginx. The window is then killed while live: the stream goes on,
// and `master attach` opens a window that shows it live.
func TestGUIGoLiveSurvivesAKilledWindow(t *testing.T) {
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	// Made before the engine, so it is removed after the engine stopped.
	recording := filepath.Join(t.TempDir(), "show.mp4")
	env, dir, display := desktop(t)

	// Plain `master`, as from a desktop launcher.
	start := time.Now()
	step := func(what string) { t.Logf("%5.1fs %s", time.Since(start).Seconds(), what) }
	gui := startGUI(t, env, "-listen", "127.0.0.1:0", "-monitor", "127.0.0.1:0", "-rtmp-listen", "",
		"-dest", nginx.URL("live", "gui"), "-source", "pattern", "-width", "640", "-height", "360",
		"-fps", "15", "-bitrate", "800", "-record", recording)
	var engine *pb.MasterStatus
	gui.await(t, 60*time.Second, "a detached engine answering", func() bool {
		st, err := answering(dir, time.Second)
		if err != nil || int(st.GetPid()) == gui.cmd.Process.Pid {
			return false
		}
		engine = st
		return true
	})
	ep, err := control.ReadEndpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if engine.GetLive() {
		t.Fatal("the engine is live before Go Live was clicked")
	}
	win := gui.window(t, "OnAir.*off air")
	step("window up, off air")
	gui.awaitPicture(t, win, "", "a blue Go Live button", goLiveShown)
	step("Go Live drawn")

	// Go Live sits at the window's top left.
	xdo(t, display, "mousemove", "--window", win, "50", "22", "click", "1")
	gui.await(t, 20*time.Second, "the window to say LIVE", func() bool {
		return strings.Contains(windowName(display, win), "LIVE")
	})
	step("window says LIVE")
	if st, err := answering(dir, 5*time.Second); err != nil || !st.GetLive() {
		t.Fatalf("after the click the engine is not live: %v %v", st, err)
	}
	testpeer.Await(t, 20*time.Second, "nginx accepting the publish", func() bool { return nginx.Publishes("gui") > 0 })
	step("nginx publish")
	reader := testpeer.StartReader(t, nginx.URL("live", "gui"), testpeer.ReaderOptions{})
	if n := len(reader.WaitFrames(10, 5*time.Second, 20*time.Second)); n < 10 {
		t.Fatalf("a player got %d frames from nginx, want 10; GUI output:\n%s", n, gui.out)
	}
	step("player frames")
	gui.awaitPicture(t, win, "gui-live.png", "a red Stop button and the program", func(im image.Image) bool {
		return stopShown(im) && previewShown(im)
	})
	step("live window drawn")

	// Kill the window while live: the engine and the stream go on.
	gui.kill()
	step("window killed")
	before := reader.Count()
	testpeer.Await(t, 20*time.Second, "frames after the window died", func() bool { return reader.Count() >= before+15 })
	step("frames go on")
	st, err := answering(dir, 5*time.Second)
	if err != nil || !st.GetLive() || int(st.GetPid()) != int(engine.GetPid()) {
		t.Fatalf("after the window was killed: engine %v, err %v; want the same engine, live", st, err)
	}
	written := st.GetRecording().GetFramesWritten()
	testpeer.Await(t, 10*time.Second, "the recording going on", func() bool {
		st, err := answering(dir, time.Second)
		return err == nil && st.GetRecording().GetState() == "recording" && st.GetRecording().GetFramesWritten() > written+10
	})
	if nginx.PublishSessions("gui") != 0 {
		t.Fatal("the publish session ended when the window died")
	}

	// Relaunch: attach by address; it shows the live state.
	again := startGUI(t, env, "attach", ep.Addr)
	win = again.window(t, "OnAir.*LIVE")
	step("attached window says LIVE")
	again.awaitPicture(t, win, "gui-reattached.png", "the live state and the program", func(im image.Image) bool {
		return stopShown(im) && previewShown(im)
	})
	step("attached window drawn live")
	again.stop(t)
	if n := nginx.PublishSessions("gui"); n != 0 {
		t.Fatalf("closing the attached window ended %d publish sessions", n)
	}
}

// When the engine restarts (here on another port), the local window finds
// it again through the endpoint file and reconnects by itself.
func TestGUIReconnectsToARestartedEngine(t *testing.T) {
	env, dir, _ := desktop(t)
	flags := []string{"-listen", "127.0.0.1:0", "-monitor", "127.0.0.1:0", "-rtmp-listen", "",
		"-children", "encoder", "-source", "color:#3060c0", "-width", "320", "-height", "180", "-fps", "10"}
	gui := startGUI(t, env, flags...)
	var first control.Endpoint
	gui.await(t, 60*time.Second, "the engine", func() bool {
		_, aerr := answering(dir, time.Second)
		var err error
		first, err = control.ReadEndpoint(dir)
		return aerr == nil && err == nil
	})
	gui.window(t, "OnAir.*off air.*"+first.Addr)

	st, err := answering(dir, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pid := int(st.GetPid())
	_ = syscall.Kill(pid, syscall.SIGTERM)
	testpeer.Await(t, 15*time.Second, "the engine to stop", func() bool { return !alive(pid) })
	gui.window(t, "OnAir.*reconnecting")

	// The engine comes back, as a user or a service manager would start it.
	engine := startGUI(t, env, append(flags, "-headless")...)
	var second control.Endpoint
	engine.await(t, 60*time.Second, "the new engine", func() bool {
		second, err = control.ReadEndpoint(dir)
		return err == nil && second.Addr != first.Addr
	})
	gui.window(t, "OnAir.*off air.*"+second.Addr)
	engine.stop(t)
}

// desktop is a private X display and config dir for a window test, with the
// engine started there stopped when the test ends. It skips the test when
// the virtual display or the tools to drive it are not installed.
func desktop(t *testing.T) (env []string, dir, display string) {
	t.Helper()
	for _, p := range []string{"Xvfb", "xdotool", "import"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is not installed (apt-get install xvfb xdotool imagemagick): the window test needs a virtual display", p)
		}
	}
	x, err := xvfb.Start(1280, 800)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	home := t.TempDir()
	dir = filepath.Join(home, "onair")
	// Software GL and scale 1, so the window looks the same on every machine.
	env = append(os.Environ(), "XDG_CONFIG_HOME="+home, "DISPLAY="+x.Display, "WAYLAND_DISPLAY=",
		"LIBGL_ALWAYS_SOFTWARE=1", "FYNE_SCALE=1")
	stopEngineAtEnd(t, dir)
	return env, dir, x.Display
}

// guiProc is a studio window process.
type guiProc struct {
	cmd    *exec.Cmd
	out    *testpeer.SyncBuffer
	exited chan struct{}
	env    []string
}

func startGUI(t *testing.T, env []string, args ...string) *guiProc {
	t.Helper()
	g := &guiProc{out: &testpeer.SyncBuffer{}, exited: make(chan struct{}), env: env}
	g.cmd = exec.Command(filepath.Join(binDir, "master"), args...)
	g.cmd.Env = env
	g.cmd.Stdout, g.cmd.Stderr = g.out, g.out
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.cmd.Wait(); close(g.exited) }()
	t.Cleanup(g.kill)
	return g
}

// await polls cond, failing with the window's output if it exits first.
func (g *guiProc) await(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		select {
		case <-g.exited:
			t.Fatalf("the window exited while waiting for %s:\n%s", what, g.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; window output:\n%s", what, within, g.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// window waits for a window whose title matches and returns its id.
func (g *guiProc) window(t *testing.T, title string) string {
	t.Helper()
	display := envValue(g.env, "DISPLAY")
	var id string
	g.await(t, 60*time.Second, "a window titled "+title, func() bool {
		cmd := exec.Command("xdotool", "search", "--onlyvisible", "--name", title)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		out, err := cmd.Output()
		ids := strings.Fields(string(out))
		if err != nil || len(ids) == 0 {
			return false
		}
		id = ids[0]
		return true
	})
	return id
}

// kill ends the window at once, as a crash or `kill -9` would.
func (g *guiProc) kill() {
	_ = g.cmd.Process.Kill()
	<-g.exited
}

// stop asks the window to quit and checks it exits cleanly (a data race in a
// race-built binary would make the exit status non-zero).
func (g *guiProc) stop(t *testing.T) {
	t.Helper()
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("the window did not quit on SIGTERM:\n%s", g.out)
	}
	if code := g.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("the window exited with %d:\n%s", code, g.out)
	}
}

// With no window possible, plain `master` runs headless and says why,
// instead of failing: a master installed without the window program (a
// headless studio PC) even on a desktop, or a $DISPLAY left over from a
// session that ended (fyne would panic on it).
func TestNoWindowRunsHeadless(t *testing.T) {
	alone := t.TempDir()
	for _, name := range []string{"master", "encoder"} {
		// A link, not a symlink: the master looks next to its own path.
		if err := os.Link(filepath.Join(binDir, name), filepath.Join(alone, name)); err != nil {
			t.Skipf("cannot link the binaries into a directory of their own: %v", err)
		}
	}
	// Attaching needs the window: without it, master says so and what to
	// use instead.
	attach := exec.Command(filepath.Join(alone, "master"), "attach", "127.0.0.1:1")
	if out, err := attach.CombinedOutput(); err == nil || !strings.Contains(string(out), "studio window is not installed") || !strings.Contains(string(out), "master ctl -addr") {
		t.Errorf("attach without the window program: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name, bin, display, why string
	}{
		{"without the window program", alone, "", "studio window is not installed next to master"},
		{"stale display", binDir, ":987", "display :987 does not answer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, dir, _ := desktop(t) // a display the window could open on
			if c.display != "" {
				env = append(env, "DISPLAY="+c.display)
			}
			p := startProcess(t, filepath.Join(c.bin, "master"), env, "-listen", "127.0.0.1:0", "-monitor", "127.0.0.1:0",
				"-rtmp-listen", "", "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180")
			cmd, out := p.cmd, p.out
			testpeer.Await(t, 20*time.Second, "the master running headless", func() bool {
				st, err := answering(dir, time.Second)
				return err == nil && configured(st, "encoder") && int(st.GetPid()) == cmd.Process.Pid
			})
			if !strings.Contains(out.String(), c.why) {
				t.Fatalf("the master does not say why it runs headless (%q):\n%s", c.why, out)
			}
		})
	}
}

// stopEngineAtEnd stops the detached engine, found by the pid it reports,
// when the test ends, and fails the test on a data race in its log.
func stopEngineAtEnd(t *testing.T, dir string) {
	t.Cleanup(func() {
		if st, err := answering(dir, 5*time.Second); err == nil {
			pid := int(st.GetPid())
			_ = syscall.Kill(pid, syscall.SIGTERM)
			if !testpeer.Eventually(15*time.Second, func() bool { return !alive(pid) }) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("the engine (pid %d) did not stop on SIGTERM", pid)
			}
		}
		if log, _ := os.ReadFile(filepath.Join(dir, "engine.log")); strings.Contains(string(log), "DATA RACE") {
			t.Errorf("data race in the engine:\n%s", log)
		}
	})
}

// answering asks the engine the config dir points at for its status, as
// the window finds it.
func answering(dir string, timeout time.Duration) (*pb.MasterStatus, error) {
	e, err := control.ReadEndpoint(dir)
	if err != nil {
		return nil, err
	}
	tok, err := control.ReadToken(dir)
	if err != nil {
		return nil, err
	}
	c, conn, err := control.Dial(e.Addr, tok, e.Fingerprint)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Status(ctx, &pb.StatusRequest{})
}

func xdo(t *testing.T, display string, args ...string) {
	t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xdotool %v: %v\n%s", args, err, out)
	}
}

func windowName(display, id string) string {
	cmd := exec.Command("xdotool", "getwindowname", id)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

// awaitPicture grabs the window until check passes on its picture, and
// saves that picture as name under build/screenshots (if name is set).
func (g *guiProc) awaitPicture(t *testing.T, id, name, what string, check func(image.Image) bool) {
	t.Helper()
	var shot, last []byte
	defer func() {
		if shot == nil && last != nil && name != "" {
			// What the window showed instead, to see why.
			_ = os.MkdirAll(screenshotDir, 0o755)
			_ = os.WriteFile(filepath.Join(screenshotDir, "failed-"+name), last, 0o644)
		}
	}()
	var grabbed time.Time
	g.await(t, 30*time.Second, "the window to show "+what, func() bool {
		// import holds the X server while it copies: grabbing without a
		// pause would starve the window's own drawing.
		if time.Since(grabbed) < 300*time.Millisecond {
			return false
		}
		grabbed = time.Now()
		cmd := exec.Command("import", "-window", id, "png:-")
		cmd.Env = append(os.Environ(), "DISPLAY="+envValue(g.env, "DISPLAY"))
		out, err := cmd.Output()
		if err != nil {
			return false
		}
		last = out
		im, err := png.Decode(bytes.NewReader(out))
		if err != nil || !check(im) {
			return false
		}
		shot = out
		return true
	})
	if name == "" {
		return
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, name), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The Go Live button is the first thing at the top left: blue when off
// air, red (Stop) when live.
func goLiveShown(im image.Image) bool {
	r, g, b := rgb(im, 12, 22)
	return b > 150 && r < 120 && g < 160
}

func stopShown(im image.Image) bool {
	r, g, b := rgb(im, 12, 22)
	return r > 150 && g < 120 && b < 120
}

// previewShown: the preview holds a picture, not its dark background; the
// test pattern's bars are bright somewhere across its middle.
func previewShown(im image.Image) bool {
	for x := 50; x < 600; x += 50 {
		if r, g, b := rgb(im, x, 200); max(r, g, b) > 0x80 {
			return true
		}
	}
	return false
}

func rgb(im image.Image, x, y int) (r, g, b uint32) {
	r, g, b, _ = im.At(x, y).RGBA()
	return r >> 8, g >> 8, b >> 8
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// A master whose certificate is not the one pinned on first use is refused
// before any window opens, with a message saying what changed.
func TestAttachRefusesAChangedCertificate(t *testing.T) {
	m := startMaster(t, nil, "-tls", "-children", "plugins")
	env, dir, _ := desktop(t) // another machine: its own config dir
	pinned := strings.Repeat("ab", 32)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	known := `{"` + m.Addr + `": {"fingerprint": "` + pinned + `"}}`
	if err := os.WriteFile(filepath.Join(dir, "known-masters.json"), []byte(known), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "master"), "attach", "-token", m.Token, m.Addr)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("attach to a changed certificate succeeded:\n%s", out)
	}
	for _, want := range []string{"certificate changed", "pinned", strings.ToUpper(m.Fingerprint[:2]) + ":"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the refusal does not say %q:\n%s", want, out)
		}
	}
}
