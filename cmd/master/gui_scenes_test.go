package main

import (
	"context"
	"encoding/json"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// shows reports whether a window picture has a patch of colour c (the
// program or the preview pane showing that scene).
func shows(im image.Image, c sceneRGB) bool {
	b := im.Bounds()
	for y := b.Min.Y + 60; y < b.Max.Y/2; y += 20 {
		for x := b.Min.X + 20; x < b.Max.X/2; x += 20 {
			r, g, bl := rgb(im, x, y)
			if (sceneRGB{int(r), int(g), int(bl)}).within(c, 30) {
				return true
			}
		}
	}
	return false
}

// The real window under Xvfb, driven through the X server: with studio mode
// off, a click on a scene button puts it on air (seen in a viewer's decoded
// pixels behind nginx), and so does a key bound in the config (Alt+F9);
// with it on, a click on a scene changes only the preview, beside the
// program, and the viewer keeps the program until Transition is clicked.
// Screenshots of both go to build/screenshots.
func TestGUIScenesAndStudioMode(t *testing.T) {
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	env, dir, display := desktop(t)
	env = append(env, "ONAIR_TEST_PLACES=1")
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(sceneConfig+"hotkeys:\n  - {key: Alt+F9, action: \"scene:Starting soon\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gui := startGUI(t, env, "-listen", "127.0.0.1:0", "-monitor", "127.0.0.1:0", "-rtmp-listen", "", "-config", cfg,
		"-children", "encoder", "-width", "320", "-height", "180", "-fps", "15", "-dest", nginx.URL("live", "scenes"), "-live")
	win := gui.window(t, "OnAir.*LIVE")
	viewer := testpeer.StartPixelReader(t, nginx.URL("live", "scenes"), 32, 18)
	awaitAt := func(what string, from time.Time, want sceneRGB) {
		t.Helper()
		testpeer.Await(t, 20*time.Second, what, func() bool {
			for _, p := range viewer.Pictures() {
				if p.At.After(from) && pixel(viewer, p, 16, 9).within(want, 40) {
					return true
				}
			}
			return false
		})
	}
	awaitAt("the first scene at the viewer", time.Time{}, sceneRed)
	gui.awaitPicture(t, win, "", "the program", func(im image.Image) bool { return shows(im, sceneRed) })

	click := func(p image.Point) {
		xdo(t, display, "mousemove", "--window", win, strconv.Itoa(p.X), strconv.Itoa(p.Y), "click", "1")
	}
	// The scene buttons are on the Scene tab, the second.
	click(gui.secondTab(t, win))
	clicked := time.Now()
	click(mid(gui.place(t, "scene:Game")))
	awaitAt("a click putting Game on air", clicked, sceneBlue)
	gui.awaitPicture(t, win, "scenes-direct.png", "Game on air", func(im image.Image) bool { return shows(im, sceneBlue) })

	pressed := time.Now()
	xdo(t, display, "windowfocus", "--sync", win)
	xdo(t, display, "key", "--clearmodifiers", "alt+F9")
	awaitAt("Alt+F9 putting Starting soon on air", pressed, sceneRed)

	// Studio mode on, from another client: the window follows.
	e, err := control.ReadEndpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := control.ReadToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, conn, err := control.Dial(e.Addr, tok, e.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := c.SetPreviewScene(context.Background(), &pb.SceneRequest{Name: "Game"}); err != nil {
		t.Fatal(err)
	}
	gui.awaitPicture(t, win, "", "the preview pane", func(im image.Image) bool {
		return shows(im, sceneRed) && shows(im, sceneBlue)
	})
	clicked = time.Now()
	click(mid(gui.place(t, "scene:Just chatting")))
	testpeer.Await(t, 20*time.Second, "a click previewing Just chatting", func() bool {
		st, err := answering(dir, time.Second)
		return err == nil && st.GetPreviewScene() == "Just chatting"
	})
	gui.awaitPicture(t, win, "scenes-studio.png", "the preview beside the program", func(im image.Image) bool {
		return shows(im, sceneGreen) && shows(im, sceneRed)
	})
	// The viewer went on showing the program all along.
	awaitAt("the program at the viewer after the preview changed", time.Now(), sceneRed)
	for _, p := range viewer.Pictures() {
		if p.At.After(clicked) && !pixel(viewer, p, 16, 9).within(sceneRed, 40) {
			t.Fatalf("the preview reached the viewer: %v", pixel(viewer, p, 16, 9))
		}
	}
	clicked = time.Now()
	click(mid(gui.place(t, "Transition")))
	awaitAt("a click on Transition putting the preview on air", clicked, sceneGreen)
	gui.stop(t)
}

func mid(r image.Rectangle) image.Point {
	return image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
}

// place asks the window (started with ONAIR_TEST_PLACES=1) where a part is,
// in window pixels; it prints its places on SIGUSR1. The window is asked
// again until the part is on screen.
func (g *guiProc) place(t *testing.T, name string) image.Rectangle {
	t.Helper()
	var r image.Rectangle
	asked := -1 // how many answers there were when the window was last asked
	g.await(t, 20*time.Second, "the window to place "+name, func() bool {
		lines := placeLines(g.out.String())
		if asked >= 0 && len(lines) > asked {
			var places map[string]image.Rectangle
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &places); err != nil {
				t.Fatalf("the window's places: %v", err)
			}
			if p, ok := places[name]; ok && !p.Empty() {
				r = p
				return true
			}
		}
		if asked < 0 || len(lines) > asked {
			asked = len(lines)
			_ = g.cmd.Process.Signal(syscall.SIGUSR1)
		}
		return false
	})
	return r
}

func placeLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(l, "places: "); ok {
			lines = append(lines, p)
		}
	}
	return lines
}

// secondTab is where to click for the second tab: the tab buttons are the
// toolkit's own, so it is found on screen, just right of the first (the
// selected one), which the bar's bottom edge marks in another colour.
func (g *guiProc) secondTab(t *testing.T, win string) image.Point {
	t.Helper()
	bar := g.place(t, "tabs")
	var at image.Point
	g.awaitPicture(t, win, "", "the first tab marked", func(im image.Image) bool {
		y := bar.Max.Y - 2
		edge := func(x int) sceneRGB {
			r, gr, b := rgb(im, x, y)
			return sceneRGB{int(r), int(gr), int(b)}
		}
		plain := edge(bar.Max.X - 2)
		x := bar.Min.X
		for x < bar.Max.X && edge(x).within(plain, 30) {
			x++
		}
		start := x
		for x < bar.Max.X && !edge(x).within(plain, 30) {
			x++
		}
		if start > bar.Min.X+8 || x-start < 20 || x >= bar.Max.X-40 {
			return false // no mark under the first tab
		}
		at = image.Pt(x+25, (bar.Min.Y+y)/2)
		return true
	})
	return at
}
