package main

import (
	"context"
	"image"
	"os"
	"path/filepath"
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

// The real window under Xvfb: with studio mode off, a scene key (Alt+F9,
// bound in the config) puts the scene on air (seen in a viewer's decoded pixels
// behind nginx); with it on, a scene key (Ctrl+3, a default the config
// leaves) changes only the preview, beside the program, until the
// Transition key. Screenshots of both go to build/screenshots.
func TestGUIScenesAndStudioMode(t *testing.T) {
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	env, dir, display := desktop(t)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(sceneConfig+"hotkeys:\n  - {key: Alt+F9, action: \"scene:Game\"}\n"), 0o600); err != nil {
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

	key := func(k string) {
		xdo(t, display, "windowfocus", "--sync", win)
		xdo(t, display, "key", "--clearmodifiers", k)
	}
	pressed := time.Now()
	key("alt+F9")
	awaitAt("Alt+F9 putting Game on air", pressed, sceneBlue)
	gui.awaitPicture(t, win, "scenes-direct.png", "Game on air", func(im image.Image) bool { return shows(im, sceneBlue) })

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
	if _, err := c.SetPreviewScene(context.Background(), &pb.SceneRequest{Name: "Starting soon"}); err != nil {
		t.Fatal(err)
	}
	gui.awaitPicture(t, win, "", "the preview pane", func(im image.Image) bool {
		return shows(im, sceneRed) && shows(im, sceneBlue)
	})
	pressed = time.Now()
	key("ctrl+3")
	testpeer.Await(t, 20*time.Second, "Ctrl+3 previewing Just chatting", func() bool {
		st, err := answering(dir, time.Second)
		return err == nil && st.GetPreviewScene() == "Just chatting"
	})
	gui.awaitPicture(t, win, "scenes-studio.png", "the preview beside the program", func(im image.Image) bool {
		return shows(im, sceneGreen) && shows(im, sceneBlue)
	})
	for _, p := range viewer.Pictures() {
		if p.At.After(pressed) && !pixel(viewer, p, 16, 9).within(sceneBlue, 40) {
			t.Fatalf("the preview reached the viewer: %v", pixel(viewer, p, 16, 9))
		}
	}
	pressed = time.Now()
	key("ctrl+t")
	awaitAt("Ctrl+T putting the preview on air", pressed, sceneGreen)
	gui.stop(t)
}
