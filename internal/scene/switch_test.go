package scene

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/internal/transition"
)

var (
	red  = color.RGBA{255, 0, 0, 255}
	blue = color.RGBA{0, 0, 255, 255}
)

func solid(hex string) []Layer { return []Layer{{Source: "color:" + hex, Opacity: 1}} }

// A cut shows the new scene on the very next frame, in every pixel.
func TestSwitchCutOnNextFrame(t *testing.T) {
	c := newScene(t, 32, 24, solid("#ff0000")...)
	if got := c.Compose(0, t0).RGBAAt(5, 5); got != red {
		t.Fatalf("before the switch: %v", got)
	}
	if err := c.Switch(solid("#0000ff"), transition.T{Kind: transition.Cut}); err != nil {
		t.Fatal(err)
	}
	f := c.Compose(1, t0)
	for _, p := range []image.Point{{0, 0}, {31, 23}, {16, 12}} {
		if got := f.RGBAAt(p.X, p.Y); got != blue {
			t.Errorf("frame after the cut, pixel %v: %v, want blue", p, got)
		}
	}
}

// A fade steps from the old scene to the new one frame by frame: its first
// frame already shows some of the new, its middle one is the 50/50 blend,
// and the frame after its duration is the new scene alone.
func TestSwitchFade(t *testing.T) {
	c := newScene(t, 32, 24, solid("#ff0000")...) // 30 fps
	c.Compose(0, t0)
	fadeIn, err := transition.Parse("fade", 400*time.Millisecond) // 12 frames
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Switch(solid("#0000ff"), fadeIn); err != nil {
		t.Fatal(err)
	}
	var reds []uint8
	for n := int64(1); n <= 13; n++ {
		f := c.Compose(n, t0)
		px := f.RGBAAt(10, 10)
		if px.R+px.B < 254 || px.G != 0 {
			t.Fatalf("frame %d is %v, not a red/blue blend", n, px)
		}
		reds = append(reds, px.R)
	}
	if reds[0] == 255 {
		t.Error("the fade's first frame shows none of the new scene")
	}
	for i := 1; i < len(reds); i++ {
		if reds[i] > reds[i-1] {
			t.Errorf("the fade goes back: red %d then %d", reds[i-1], reds[i])
		}
	}
	if mid := reds[5]; mid < 120 || mid > 136 { // frame 6 of 12
		t.Errorf("the middle frame's red is %d, want about 128", mid)
	}
	if reds[11] != 0 || reds[12] != 0 {
		t.Errorf("after 12 frames the red is %d, %d: want the new scene alone", reds[11], reds[12])
	}
}

// A slide moves the old scene out to the left while the new one comes in
// from the right.
func TestSwitchSlide(t *testing.T) {
	c := newScene(t, 40, 10, solid("#ff0000")...)
	c.Compose(0, t0)
	with, _ := transition.Parse("slide", 200*time.Millisecond) // 6 frames
	if err := c.Switch(solid("#0000ff"), with); err != nil {
		t.Fatal(err)
	}
	c.Compose(1, t0)
	c.Compose(2, t0)
	f := c.Compose(3, t0) // halfway: the left half old, the right half new
	if got := f.RGBAAt(19, 5); got != red {
		t.Errorf("left of the middle: %v, want red", got)
	}
	if got := f.RGBAAt(20, 5); got != blue {
		t.Errorf("right of the middle: %v, want blue", got)
	}
}

// A hidden layer is not drawn; a scene edited with a cut shows the edit on
// the next frame; bad geometry is refused and the scene on air stays.
func TestSwitchEditsAndRefusals(t *testing.T) {
	c := newScene(t, 32, 24,
		Layer{Source: "color:#ff0000", Opacity: 1},
		Layer{Source: "color:#0000ff", X: 0, Y: 0, W: 8, H: 8, Opacity: 1, Hidden: true})
	if got := c.Compose(0, t0).RGBAAt(2, 2); got != red {
		t.Fatalf("a hidden layer shows: %v", got)
	}
	moved := []Layer{{Source: "color:#ff0000", Opacity: 1}, {Source: "color:#0000ff", X: 10, Y: 10, W: 8, H: 8, Opacity: 1}}
	if err := c.Switch(moved, transition.T{Kind: transition.Cut}); err != nil {
		t.Fatal(err)
	}
	f := c.Compose(1, t0)
	if f.RGBAAt(2, 2) != red || f.RGBAAt(12, 12) != blue {
		t.Errorf("shown and moved layer: (2,2)=%v (12,12)=%v", f.RGBAAt(2, 2), f.RGBAAt(12, 12))
	}
	if err := c.Switch([]Layer{{Source: "color:#00ff00", W: 20000, Opacity: 1}}, transition.T{Kind: transition.Cut}); err == nil {
		t.Fatal("a 20000 px wide layer was taken")
	}
	if got := c.Compose(2, t0).RGBAAt(12, 12); got != blue {
		t.Errorf("a refused switch changed the program: %v", got)
	}
}

// typicalScene is a 720p show: a full-frame background (the pattern stands
// in for the screen, which a test machine may lack), a webcam-sized media
// file (320×240, 30 fps, decoded on its own goroutine), an outlined
// caption and two overlays.
func typicalScene(b *testing.B) *Compositor {
	clip := testpeer.MakeMP4(b, b.TempDir(), "cam.mp4", 2, 320, 240)
	c := newScene(b, 1280, 720,
		Layer{Source: "pattern", Opacity: 1},
		Layer{Source: "file:" + clip, X: 920, Y: 440, W: 320, H: 240, Opacity: 1},
		Layer{Source: "text:{size=40 outline=#000000}Live now: building a studio", X: 40, Y: 620, Opacity: 1})
	ov := image.NewRGBA(image.Rect(0, 0, 300, 80))
	for i := range ov.Pix {
		ov.Pix[i] = 0x60
	}
	_ = c.SetOverlay("clock", ov, 20, 20, 1)
	_ = c.SetOverlay("chat", ov, 960, 20, 0.8)
	return c
}

func BenchmarkComposeTypicalScene720p(b *testing.B) {
	c := typicalScene(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Compose(int64(i), t0)
	}
}

// BenchmarkFade720p is a frame composed in the middle of a fade between two
// typical scenes: both rendered, then blended.
func BenchmarkFade720p(b *testing.B) {
	c := typicalScene(b)
	c.Compose(0, t0)
	with, _ := transition.Parse("fade", transition.MaxDuration)
	if err := c.Switch([]Layer{{Source: "pattern", Opacity: 1}, {Source: "color:#ff000080", X: 100, Y: 100, W: 400, H: 300, Opacity: 1}}, with); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Compose(int64(i%200)+1, t0)
	}
}

// The fast fade gives what the plain formula gives, byte for byte.
func TestFadeMatchesFormula(t *testing.T) {
	r := image.Rect(0, 0, 7, 3) // a row length that leaves a tail
	old, next, out := image.NewRGBA(r), image.NewRGBA(r), image.NewRGBA(r)
	for i := range old.Pix {
		old.Pix[i], next.Pix[i] = uint8(i*37), uint8(255-i*11)
	}
	for _, p := range []float64{0, 0.1, 0.5, 0.77, 1} {
		fade(out, old, next, p)
		a := uint32(p*256 + 0.5)
		for i := range out.Pix {
			if want := uint8((uint32(old.Pix[i])*(256-a) + uint32(next.Pix[i])*a) >> 8); out.Pix[i] != want {
				t.Fatalf("p %v byte %d: %d, want %d", p, i, out.Pix[i], want)
			}
		}
	}
}

// BenchmarkFadeBlend720p is the blend alone, without rendering the scenes.
func BenchmarkFadeBlend720p(b *testing.B) {
	r := image.Rect(0, 0, 1280, 720)
	old, next, out := image.NewRGBA(r), image.NewRGBA(r), image.NewRGBA(r)
	for i := 0; i < b.N; i++ {
		fade(out, old, next, 0.5)
	}
}

// whiteIn counts the near-white pixels of f in r.
func whiteIn(f *image.RGBA, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := f.RGBAAt(x, y); c.R > 200 && c.G > 200 && c.B > 200 {
				n++
			}
		}
	}
	return n
}

// A text layer draws its line at its own size, with its outline, where the
// layer is placed; new text shows on the next frame.
func TestTextLayer(t *testing.T) {
	c := newScene(t, 320, 120,
		Layer{Source: "color:#0000ff", Opacity: 1},
		Layer{Source: "text:{size=40 outline=#000000}.", X: 10, Y: 10, Opacity: 1})
	f := c.Compose(0, t0)
	if st := c.Stats().Layers[1]; st.Err != nil {
		t.Fatal(st.Err)
	}
	area := image.Rect(10, 10, 310, 60)
	dot := whiteIn(f, area)
	black := 0
	for x := 0; x < 320; x++ {
		for y := 0; y < 120; y++ {
			if c := f.RGBAAt(x, y); c.R < 40 && c.G < 40 && c.B < 40 {
				black++
			}
		}
	}
	if dot == 0 || black == 0 {
		t.Fatalf("the text shows %d white and %d outline pixels, want some of each", dot, black)
	}
	if got := f.RGBAAt(300, 100); got != blue {
		t.Errorf("outside the text: %v, want the blue under it", got)
	}
	if err := c.Switch([]Layer{{Source: "color:#0000ff", Opacity: 1}, {Source: "text:{size=40}MMMMMM", X: 10, Y: 10, Opacity: 1}},
		transition.T{Kind: transition.Cut}); err != nil {
		t.Fatal(err)
	}
	if more := whiteIn(c.Compose(1, t0), area); more < 10*dot {
		t.Errorf("new text: %d white pixels, the old %d: the change did not show on the next frame", more, dot)
	}
}

// halves writes a PNG whose left half is red and right half blue.
func halves(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := red
			if x >= w/2 {
				c = blue
			}
			img.SetRGBA(x, y, c)
		}
	}
	path := filepath.Join(t.TempDir(), "halves.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// A crop cuts source pixels off before the rest is scaled to the layer; a
// crop that leaves nothing is the layer's error and the rest still draws.
func TestCroppedLayer(t *testing.T) {
	pic := halves(t, 40, 20)
	c := newScene(t, 64, 32,
		Layer{Source: "color:#00ff00", Opacity: 1},
		Layer{Source: "image:" + pic, X: 0, Y: 0, W: 32, H: 16, Opacity: 1, Crop: Crop{Left: 20}}, // the blue half, stretched
		Layer{Source: "image:" + pic, X: 32, Y: 16, W: 32, H: 16, Opacity: 1, Crop: Crop{Right: 20}},
		Layer{Source: "image:" + pic, X: 32, Y: 0, W: 32, H: 16, Opacity: 1, Crop: Crop{Left: 30, Right: 10}})
	f := c.Compose(0, t0)
	for _, tc := range []struct {
		p    image.Point
		want color.RGBA
	}{{image.Pt(1, 1), blue}, {image.Pt(30, 14), blue}, {image.Pt(33, 17), red}, {image.Pt(62, 30), red}, {image.Pt(40, 8), color.RGBA{0, 255, 0, 255}}} {
		if got := f.RGBAAt(tc.p.X, tc.p.Y); got != tc.want {
			t.Errorf("pixel %v: %v, want %v", tc.p, got, tc.want)
		}
	}
	if err := c.Stats().Layers[3].Err; err == nil || !strings.Contains(err.Error(), "leaves nothing of its 40x20 source") {
		t.Errorf("the crop that leaves nothing: %v", err)
	}
}

// A plugin layer places the plugin's overlay where the scene says, at the
// overlay's size or scaled to the layer's, in the layer's place in the
// stack; the overlay no longer draws at its own position. An overlay no
// layer places still draws above everything.
func TestPluginOverlayAsLayer(t *testing.T) {
	c := newScene(t, 64, 32,
		Layer{Source: "color:#0000ff", Opacity: 1},
		Layer{Source: "plugin:clock", X: 40, Y: 10, W: 20, H: 20, Opacity: 1},
		Layer{Source: "color:#00ff00", X: 55, Y: 25, W: 9, H: 7, Opacity: 1}) // above the clock
	redSquare := image.NewRGBA(image.Rect(0, 0, 10, 10))
	for i := 0; i < len(redSquare.Pix); i += 4 {
		copy(redSquare.Pix[i:], []byte{255, 0, 0, 255})
	}
	if err := c.SetOverlay("clock", redSquare, 0, 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.SetOverlay("chat", redSquare, 0, 20, 1); err != nil {
		t.Fatal(err)
	}
	f := c.Compose(0, t0)
	for _, tc := range []struct {
		p    image.Point
		want color.RGBA
	}{
		{image.Pt(2, 2), blue},                         // not at the plugin's own place
		{image.Pt(41, 11), red},                        // at the layer's place,
		{image.Pt(58, 28), color.RGBA{0, 255, 0, 255}}, // under the layer above it,
		{image.Pt(54, 22), red},                        // scaled to 20x20
		{image.Pt(2, 22), red},                         // the unplaced overlay, where it asked
	} {
		if got := f.RGBAAt(tc.p.X, tc.p.Y); got != tc.want {
			t.Errorf("pixel %v: %v, want %v", tc.p, got, tc.want)
		}
	}
}
