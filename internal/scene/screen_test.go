//go:build linux

package scene

import (
	"bufio"
	"bytes"
	"image"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/capture"
	"github.com/onair-studio/onair/internal/capture/xvfb"
)

func ownSHMSegments(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/sysvipc/shm")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fl := strings.Fields(sc.Text()); len(fl) > 4 && fl[4] == strconv.Itoa(os.Getpid()) {
			n++
		}
	}
	return n
}

// A scene with a real screen layer under a private Xvfb: the frame is the
// screen, and Close gives back the X connection's shared memory.
func TestScreenLayer(t *testing.T) {
	srv, err := xvfb.Start(320, 240)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	segs := ownSHMSegments(t)

	c, err := New(Options{Width: 320, Height: 240, FPS: 30, XDisplay: srv.Display, Layers: []Layer{
		{Source: "screen", Opacity: 1},
		{Source: "pattern", X: 240, Y: 180, W: 80, H: 60, Opacity: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if n := ownSHMSegments(t); n != segs+1 {
		t.Errorf("%d segments with a screen layer, want %d", n, segs+1)
	}
	var frame *image.RGBA
	for n := int64(0); n < 10; n++ {
		frame = c.Compose(n, t0)
	}
	for _, s := range c.Stats().Layers {
		if s.Err != nil {
			t.Fatalf("layer %s: %v", s.Source, s.Err)
		}
	}

	sp, _ := capture.ParseSpec("screen:0:0,0,240x180")
	sp.XDisplay = srv.Display
	src, err := capture.OpenSpec(sp)
	if err != nil {
		t.Fatal(err)
	}
	want := image.NewRGBA(image.Rect(0, 0, 240, 180))
	err = src.Read(want, 0, time.Time{})
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 180; y++ {
		got := frame.Pix[frame.PixOffset(0, y) : frame.PixOffset(0, y)+240*4]
		if !bytes.Equal(got, want.Pix[want.PixOffset(0, y):want.PixOffset(0, y)+240*4]) {
			t.Fatalf("row %d differs from a direct capture", y)
		}
	}
	pat := image.NewRGBA(image.Rect(0, 0, 80, 60))
	capture.RenderPattern(pat, 9, t0)
	if frame.RGBAAt(250, 190) != pat.RGBAAt(10, 10) {
		t.Error("pattern layer missing over the screen")
	}

	// Without a size the screen layer fills a smaller program, scaled.
	small, err := New(Options{Width: 160, Height: 120, FPS: 30, XDisplay: srv.Display, Layers: []Layer{{Source: "screen", Opacity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	got := small.Compose(0, t0)
	sp, _ = capture.ParseSpec("screen")
	sp.XDisplay = srv.Display
	if src, err = capture.OpenSpec(sp); err != nil {
		t.Fatal(err)
	}
	scaled := image.NewRGBA(image.Rect(0, 0, 160, 120))
	err = src.Read(scaled, 0, time.Time{})
	src.Close()
	small.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Pix, scaled.Pix) {
		t.Error("screen layer in a smaller program is not the scaled screen")
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := ownSHMSegments(t); n != segs {
		t.Errorf("%d segments after Close, want %d", n, segs)
	}
	c.Compose(10, t0)
	if c.Stats().Layers[0].Err == nil {
		t.Error("a closed screen layer reports no error")
	}
}
