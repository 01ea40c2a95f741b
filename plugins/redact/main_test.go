package main

import (
	"image"
	"image/color"
	"testing"

	"github.com/onair-studio/onair/plugins/sdk/sdktest"
)

// stripes is a frame of one-pixel black and white columns: detail any
// redaction must destroy.
func stripes(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := uint8(255 * (x % 2))
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	return img
}

// contrast is the largest difference between horizontal neighbours in r.
func contrast(img *image.RGBA, r image.Rectangle) int {
	most := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X + 1; x < r.Max.X; x++ {
			d := int(img.RGBAAt(x, y).R) - int(img.RGBAAt(x-1, y).R)
			most = max(most, d, -d)
		}
	}
	return most
}

func TestRedactHidesTheRectangleOnly(t *testing.T) {
	for _, mode := range []string{"pixelate", "blur"} {
		out := sdktest.Filter(t, &redact{}, map[string]string{"rect": "16,8,32,16", "mode": mode, "size": "8"}, stripes(64, 32))
		inside := image.Rect(17, 9, 47, 23)
		if c := contrast(out, inside); c > 40 {
			t.Errorf("%s: the stripes still show inside the rectangle (contrast %d)", mode, c)
		}
		if c := contrast(out, image.Rect(0, 0, 64, 8)); c != 255 {
			t.Errorf("%s: the frame outside the rectangle changed (contrast %d)", mode, c)
		}
		if a := out.RGBAAt(20, 10).A; a != 255 {
			t.Errorf("%s: alpha %d inside", mode, a)
		}
	}
}

func TestRedactRefusesBadRect(t *testing.T) {
	for _, bad := range []string{"1,2,3", "a,b,c,d", "0,0,0,10", "-1,0,5,5"} {
		if err := (&redact{}).Configure(nil, map[string]string{"rect": bad, "mode": "blur", "size": "4"}); err == nil {
			t.Errorf("rect %q accepted", bad)
		}
	}
}
