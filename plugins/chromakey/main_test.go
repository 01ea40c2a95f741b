package main

import (
	"context"
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/onair-studio/onair/plugins/sdk"
	"github.com/onair-studio/onair/plugins/sdk/sdktest"
)

func frame(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func TestKeysOutGreenAndKeepsOtherColours(t *testing.T) {
	for _, tc := range []struct {
		in   color.RGBA
		gone bool
	}{
		{color.RGBA{0, 255, 0, 255}, true},
		{color.RGBA{30, 200, 40, 255}, true}, // a darker, unevenly lit screen
		{color.RGBA{255, 0, 0, 255}, false},
		{color.RGBA{255, 255, 255, 255}, false},
		{color.RGBA{230, 180, 150, 255}, false}, // skin
		{color.RGBA{0, 0, 255, 255}, false},
	} {
		out := sdktest.Filter(t, &chromakey{}, nil, frame(4, 4, tc.in))
		a := out.RGBAAt(1, 1).A
		if tc.gone && a != 0 || !tc.gone && a != 255 {
			t.Errorf("%v: alpha %d after keying, want it %s", tc.in, a, map[bool]string{true: "gone", false: "kept"}[tc.gone])
		}
	}
}

func TestBlueKey(t *testing.T) {
	out := sdktest.Filter(t, &chromakey{}, map[string]string{"key": "#0000ff"}, frame(2, 2, color.RGBA{0, 0, 255, 255}))
	if a := out.RGBAAt(0, 0).A; a != 0 {
		t.Errorf("blue on a blue key: alpha %d", a)
	}
	out = sdktest.Filter(t, &chromakey{}, map[string]string{"key": "#0000ff"}, frame(2, 2, color.RGBA{0, 255, 0, 255}))
	if a := out.RGBAAt(0, 0).A; a != 255 {
		t.Errorf("green on a blue key: alpha %d", a)
	}
}

// BenchmarkChromakey720p is one 1280x720 layer keyed (target ≤ 4 ms).
func BenchmarkChromakey720p(b *testing.B) {
	k := &chromakey{}
	img := frame(1280, 720, color.RGBA{40, 220, 60, 255})
	for y := 0; y < 720; y += 2 {
		for x := 0; x < 1280; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	sdktest.Filter(b, k, nil, img) // configures
	pristine := append([]byte(nil), img.Pix...)
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		copy(img.Pix, pristine)
		t0 := time.Now()
		_ = k.Filter(context.Background(), &sdk.FilterFrame{RGBA: img})
		total += time.Since(t0)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/frame")
}

// The per-cell shortcuts (untouched, keyed) give what the per-pixel path
// gives, for every red and green and every fourth blue.
func TestCellShortcutsAgree(t *testing.T) {
	fast := &chromakey{}
	img := image.NewRGBA(image.Rect(0, 0, 2048, 2048))
	for i := 0; i < len(img.Pix); i += 4 {
		c := i / 4
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(c>>14), uint8(c>>6), uint8(c<<2), 255
	}
	got := sdktest.Filter(t, fast, nil, img)
	slow := &chromakey{}
	sdktest.Configure(t, slow, nil)
	for i := range slow.cell {
		slow.cell[i] = cellComputed
	}
	want := image.NewRGBA(img.Rect)
	copy(want.Pix, img.Pix)
	if err := slow.Filter(context.Background(), &sdk.FilterFrame{RGBA: want}); err != nil {
		t.Fatal(err)
	}
	for i := range got.Pix {
		if d := int(got.Pix[i]) - int(want.Pix[i]); d > 3 || d < -3 {
			t.Fatalf("colour %v: shortcut gives %v, per pixel %v", img.Pix[i&^3:i&^3+4], got.Pix[i&^3:i&^3+4], want.Pix[i&^3:i&^3+4])
		}
	}
}
