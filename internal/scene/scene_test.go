package scene

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/capture"
)

var t0 = time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)

func newScene(t testing.TB, w, h int, layers ...Layer) *Compositor {
	t.Helper()
	c, err := New(Options{Width: w, Height: h, FPS: 30, Layers: layers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// near compares colours within ±1 per channel (16-bit blending rounds).
func near(a, b color.RGBA) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= 1 && int(y)-int(x) <= 1 }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && d(a.A, b.A)
}

func TestLayersOrderPositionOpacity(t *testing.T) {
	c := newScene(t, 64, 48,
		Layer{Source: "color:#0000ff", Opacity: 1},                               // whole output
		Layer{Source: "color:#ff0000", X: 10, Y: 10, W: 20, H: 10, Opacity: 1},   // red box
		Layer{Source: "color:#00ff00", X: 20, Y: 15, W: 20, H: 10, Opacity: 0.5}, // half green, over red and blue
		Layer{Source: "color:#ffffff80", X: 0, Y: 40, W: 8, H: 8, Opacity: 1},    // half-transparent white
		Layer{Source: "color:#ffffff", X: 60, Y: 44, W: 10, H: 10, Opacity: 1},   // partly off the output
		Layer{Source: "color:#ff00ff", X: 0, Y: 0, W: 5, H: 5, Opacity: 0},       // invisible
	)
	f := c.Compose(0, t0)
	for _, tc := range []struct {
		p    image.Point
		want color.RGBA
	}{
		{image.Pt(0, 0), color.RGBA{0, 0, 255, 255}},
		{image.Pt(9, 10), color.RGBA{0, 0, 255, 255}},
		{image.Pt(10, 10), color.RGBA{255, 0, 0, 255}},
		{image.Pt(29, 19), color.RGBA{127, 128, 0, 255}}, // green 50% over red
		{image.Pt(35, 20), color.RGBA{0, 128, 127, 255}}, // green 50% over blue
		{image.Pt(39, 24), color.RGBA{0, 128, 127, 255}},
		{image.Pt(40, 25), color.RGBA{0, 0, 255, 255}},
		{image.Pt(3, 44), color.RGBA{128, 128, 255, 255}}, // white at alpha 128 over blue
		{image.Pt(63, 47), color.RGBA{255, 255, 255, 255}},
		{image.Pt(59, 44), color.RGBA{0, 0, 255, 255}},
	} {
		if g := f.RGBAAt(tc.p.X, tc.p.Y); !near(g, tc.want) {
			t.Errorf("pixel %v: got %v, want %v", tc.p, g, tc.want)
		}
	}

	// The same two boxes the other way round: green now under red.
	c = newScene(t, 64, 48,
		Layer{Source: "color:#0000ff", Opacity: 1},
		Layer{Source: "color:#00ff00", X: 20, Y: 15, W: 20, H: 10, Opacity: 0.5},
		Layer{Source: "color:#ff0000", X: 10, Y: 10, W: 20, H: 10, Opacity: 1},
	)
	if g := c.Compose(0, t0).RGBAAt(29, 19); g != (color.RGBA{255, 0, 0, 255}) {
		t.Errorf("red above green: got %v", g)
	}
	for _, s := range c.Stats().Layers {
		if s.Err != nil || s.Errors != 0 {
			t.Errorf("layer %s: %v (%d)", s.Source, s.Err, s.Errors)
		}
	}
}

func TestLayerScaledPattern(t *testing.T) {
	// A full-output pattern (read straight into the frame) under a
	// quarter-size pattern in the corner (scaled by the source itself).
	c := newScene(t, 640, 360,
		Layer{Source: "pattern", Opacity: 1},
		Layer{Source: "pattern", X: 320, Y: 180, W: 320, H: 180, Opacity: 1},
	)
	f := c.Compose(77, t0)
	full := image.NewRGBA(image.Rect(0, 0, 640, 360))
	capture.RenderPattern(full, 77, t0)
	small := image.NewRGBA(image.Rect(0, 0, 320, 180))
	capture.RenderPattern(small, 77, t0)
	for y := 0; y < 360; y++ {
		for x := 0; x < 640; x++ {
			want := full.RGBAAt(x, y)
			if x >= 320 && y >= 180 {
				want = small.RGBAAt(x-320, y-180)
			}
			if g := f.RGBAAt(x, y); g != want {
				t.Fatalf("pixel %d,%d: got %v, want %v", x, y, g, want)
			}
		}
	}
	if n := testing.AllocsPerRun(5, func() { c.Compose(78, t0) }); n != 0 {
		t.Errorf("%.0f allocations per frame", n)
	}
}

func TestFailedLayerLeavesTheRest(t *testing.T) {
	t.Setenv("DISPLAY", "")
	c := newScene(t, 320, 180,
		Layer{Source: "screen", Opacity: 1},
		Layer{Source: "pattern", X: 160, Y: 90, W: 160, H: 90, Opacity: 1},
		Layer{Source: "screan:0", Opacity: 1},
		Layer{Source: "image:/nonexistent.png", Opacity: 1},
	)
	var f *image.RGBA
	for n := int64(0); n < 3; n++ {
		f = c.Compose(n, t0)
	}
	want := image.NewRGBA(image.Rect(0, 0, 160, 90))
	capture.RenderPattern(want, 2, t0)
	for y := 0; y < 180; y++ {
		for x := 0; x < 320; x++ {
			w := color.RGBA{0, 0, 0, 255} // failed layers draw nothing
			if x >= 160 && y >= 90 {
				w = want.RGBAAt(x-160, y-90)
			}
			if g := f.RGBAAt(x, y); g != w {
				t.Fatalf("pixel %d,%d: got %v, want %v", x, y, g, w)
			}
		}
	}
	st := c.Stats().Layers
	if !errors.Is(st[0].Err, capture.ErrNoDisplay) || st[0].Errors != 3 {
		t.Errorf("screen layer: %v (%d errors)", st[0].Err, st[0].Errors)
	}
	if st[1].Err != nil || st[1].Errors != 0 {
		t.Errorf("pattern layer: %v (%d errors)", st[1].Err, st[1].Errors)
	}
	if st[2].Err == nil || !strings.Contains(st[2].Err.Error(), `unknown kind "screan"`) {
		t.Errorf("bad source string: %v", st[2].Err)
	}
	if st[3].Err == nil || !strings.Contains(st[3].Err.Error(), "/nonexistent.png") {
		t.Errorf("missing image: %v", st[3].Err)
	}

	// A screen layer under a full-output pattern: the pattern, exactly.
	c = newScene(t, 320, 180, Layer{Source: "screen:0", Opacity: 1}, Layer{Source: "pattern", Opacity: 1})
	c.Compose(0, t0)
	f = c.Compose(1, t0)
	full := image.NewRGBA(image.Rect(0, 0, 320, 180))
	capture.RenderPattern(full, 1, t0)
	if !bytes.Equal(f.Pix, full.Pix) {
		t.Error("pattern over a failed screen layer differs from the pattern")
	}
	if st := c.Stats().Layers[0]; !errors.Is(st.Err, capture.ErrNoDisplay) || st.Errors != 2 {
		t.Errorf("hidden screen layer: %v (%d errors)", st.Err, st.Errors)
	}
}

func TestNewRejectsBadGeometry(t *testing.T) {
	for _, o := range []Options{
		{Width: 0, Height: 720, FPS: 30},
		{Width: 1280, Height: 720, FPS: 0},
		{Width: 1280, Height: 720, FPS: 30, Layers: []Layer{{Source: "pattern", Opacity: 1.5}}},
		{Width: 1280, Height: 720, FPS: 30, Layers: []Layer{{Source: "pattern", W: -1, Opacity: 1}}},
	} {
		if c, err := New(o); err == nil {
			c.Close()
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestOverlays(t *testing.T) {
	c := newScene(t, 64, 48, Layer{Source: "color:#000080", Opacity: 1})
	img := image.NewRGBA(image.Rect(0, 0, 10, 10))
	for i := range img.Pix {
		img.Pix[i] = 255 // white
	}
	if err := c.SetOverlay("a", img, 5, 5, 1); err != nil {
		t.Fatal(err)
	}
	for i := range img.Pix {
		img.Pix[i] = 0 // the compositor kept its own copy
	}
	if err := c.SetOverlay("b", image.NewRGBA(image.Rect(0, 0, 4, 4)), 0, 0, 1); err != nil {
		t.Fatal(err)
	}
	red := image.NewRGBA(image.Rect(0, 0, 10, 10))
	for i := 0; i < len(red.Pix); i += 4 {
		red.Pix[i], red.Pix[i+3] = 255, 255
	}
	c.SetOverlay("c", red, 10, 10, 0.5)

	f := c.Compose(0, t0)
	for _, tc := range []struct {
		p    image.Point
		want color.RGBA
	}{
		{image.Pt(5, 5), color.RGBA{255, 255, 255, 255}},   // a
		{image.Pt(1, 1), color.RGBA{0, 0, 128, 255}},       // b is fully transparent
		{image.Pt(12, 12), color.RGBA{255, 128, 128, 255}}, // c at 50% over a
		{image.Pt(17, 17), color.RGBA{127, 0, 64, 255}},    // c at 50% over the layer
		{image.Pt(30, 30), color.RGBA{0, 0, 128, 255}},
	} {
		if g := f.RGBAAt(tc.p.X, tc.p.Y); !near(g, tc.want) {
			t.Errorf("pixel %v: got %v, want %v", tc.p, g, tc.want)
		}
	}

	// Replacing "a" keeps it under "c"; removing "c" uncovers it.
	blue := image.NewRGBA(image.Rect(0, 0, 10, 10))
	for i := 0; i < len(blue.Pix); i += 4 {
		blue.Pix[i+2], blue.Pix[i+3] = 255, 255
	}
	c.SetOverlay("a", blue, 5, 5, 1)
	if got := strings.Join(c.Overlays(), ","); got != "a,b,c" {
		t.Errorf("order %s", got)
	}
	if g := c.Compose(1, t0).RGBAAt(12, 12); !near(g, color.RGBA{128, 0, 127, 255}) {
		t.Errorf("c over new a: %v", g)
	}
	c.RemoveOverlay("c")
	c.RemoveOverlay("nope")
	if g := c.Compose(2, t0).RGBAAt(12, 12); g != (color.RGBA{0, 0, 255, 255}) {
		t.Errorf("a after removing c: %v", g)
	}

	if err := c.SetOverlay("x", nil, 0, 0, 1); err == nil {
		t.Error("nil image accepted")
	}
	if err := c.SetOverlay("x", img, 0, 0, 2); err == nil {
		t.Error("opacity 2 accepted")
	}
}

// BenchmarkCompose720p composes a full-output test pattern plus 0, 1 or 5
// half-transparent 400×225 overlays at 80% opacity (the blending worst case):
// what plugin overlays cost the encoder per frame.
func BenchmarkCompose720p(b *testing.B) {
	ov := image.NewRGBA(image.Rect(0, 0, 400, 225))
	for i := 0; i < len(ov.Pix); i += 4 {
		ov.Pix[i], ov.Pix[i+1], ov.Pix[i+2], ov.Pix[i+3] = 100, 50, 0, 128
	}
	for _, n := range []int{0, 1, 5} {
		b.Run(fmt.Sprintf("overlays=%d", n), func(b *testing.B) {
			c := newScene(b, 1280, 720, Layer{Source: "pattern", Opacity: 1})
			for i := 0; i < n; i++ {
				c.SetOverlay(string(rune('a'+i)), ov, 40+i*160, 40+i*90, 0.8)
			}
			for i := int64(0); b.Loop(); i++ {
				c.Compose(i, t0)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
		})
	}
}
