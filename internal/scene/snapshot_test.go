package scene

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/capture"
)

// psnr is the peak signal-to-noise ratio of b against a over R, G and B.
func psnr(a, b *image.RGBA) float64 {
	var sum float64
	n := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ca, cb := a.RGBAAt(x, y), b.RGBAAt(x, y)
			for _, d := range []float64{float64(ca.R) - float64(cb.R), float64(ca.G) - float64(cb.G), float64(ca.B) - float64(cb.B)} {
				sum += d * d
				n++
			}
		}
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sum/float64(n)))
}

func toRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

func TestSnapshot(t *testing.T) {
	c := newScene(t, 640, 360, Layer{Source: "pattern", Opacity: 1})
	if _, err := c.Snapshot(0, 0, "png"); !errors.Is(err, ErrNoFrame) {
		t.Errorf("before the first frame: %v", err)
	}
	frame := image.NewRGBA(image.Rect(0, 0, 640, 360))
	copy(frame.Pix, c.Compose(5, t0).Pix)

	// Full size PNG: the frame, exactly.
	data, err := c.Snapshot(0, 0, "png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := toRGBA(img); !bytes.Equal(got.Pix, frame.Pix) {
		t.Error("full-size PNG differs from the composed frame")
	}

	// Scaled JPEG and PNG: the requested size, close to the scaled frame.
	for _, tc := range []struct {
		w, h       int
		format     string
		wantFormat string
		wantSize   image.Point
		minPSNR    float64
	}{
		{320, 180, "jpeg", "jpeg", image.Pt(320, 180), 30},
		{320, 0, "PNG", "png", image.Pt(320, 180), math.Inf(1)},
		{0, 90, "jpg", "jpeg", image.Pt(160, 90), 25},
		{100, 100, "png", "png", image.Pt(100, 100), math.Inf(1)},
	} {
		data, err := c.Snapshot(tc.w, tc.h, tc.format)
		if err != nil {
			t.Fatal(err)
		}
		img, format, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%dx%d %s: %v", tc.w, tc.h, tc.format, err)
		}
		if format != tc.wantFormat {
			t.Errorf("%dx%d %s: decoded as %s", tc.w, tc.h, tc.format, format)
		}
		if img.Bounds().Size() != tc.wantSize {
			t.Fatalf("%dx%d %s: size %v, want %v", tc.w, tc.h, tc.format, img.Bounds().Size(), tc.wantSize)
		}
		want := image.NewRGBA(image.Rectangle{Max: tc.wantSize})
		capture.ScaleBilinear(want, frame)
		if p := psnr(want, toRGBA(img)); p < tc.minPSNR {
			t.Errorf("%dx%d %s: PSNR %.1f dB against the scaled frame, want ≥ %.0f", tc.w, tc.h, tc.format, p, tc.minPSNR)
		}
	}
	if _, err := c.Snapshot(0, 0, "gif"); err == nil {
		t.Error("gif accepted")
	}
}

// Snapshots and overlay changes from other goroutines while the compositor
// runs (meaningful under -race).
func TestSnapshotWhileRunning(t *testing.T) {
	c := newScene(t, 320, 180, Layer{Source: "pattern", Opacity: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error)
	go func() { done <- c.Run(ctx, func(Frame, int64, time.Time) {}) }()
	ov := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for taken := 0; taken < 10; {
		c.SetOverlay("clock", ov, taken, taken, 0.5)
		data, err := c.Snapshot(160, 90, "jpeg")
		switch {
		case errors.Is(err, ErrNoFrame):
			time.Sleep(time.Millisecond)
			continue
		case err != nil:
			t.Fatal(err)
		}
		if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		c.Stats()
		taken++
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A snapshot is at most twice the output size on each side; a larger one is
// refused, saying the maximum, before any memory is spent on it.
func TestSnapshotSizeCapped(t *testing.T) {
	c := newScene(t, 320, 180, Layer{Source: "pattern", Opacity: 1})
	c.Compose(0, t0)
	for _, size := range []image.Point{{640, 360}, {640, 0}, {0, 360}} {
		if _, err := c.Snapshot(size.X, size.Y, "jpeg"); err != nil {
			t.Errorf("%v, twice the output: %v", size, err)
		}
	}
	for _, size := range []image.Point{{16384, 16384}, {642, 360}, {640, 362}, {0, 362}, {642, 0}} {
		_, err := c.Snapshot(size.X, size.Y, "png")
		if err == nil || !strings.Contains(err.Error(), "at most 640x360 (twice the 320x180 output)") {
			t.Errorf("%v: %v, want it refused with the maximum", size, err)
		}
	}
}
