package codec

import (
	"image"
	"image/color"
	"testing"
)

// Scaling a flat-coloured picture keeps its colour, to both layouts, and a
// half-size copy of a two-colour split keeps the split where it was.
func TestScale(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for y := 0; y < 360; y++ {
		for x := 0; x < 640; x++ {
			c := color.RGBA{200, 40, 40, 255}
			if x >= 320 {
				c = color.RGBA{40, 40, 200, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	src := mustFrame(t, I420, 640, 360)
	if err := src.FromRGBA(img); err != nil {
		t.Fatal(err)
	}
	var s Scaler
	for _, format := range []Format{I420, NV12} {
		dst := mustFrame(t, format, 320, 180)
		if err := s.Scale(dst, src); err != nil {
			t.Fatal(err)
		}
		left, right := dst.Planes[0][90*320+40], dst.Planes[0][90*320+280]
		wantL, wantR := src.Planes[0][180*640+80], src.Planes[0][180*640+560]
		if !within1(int(left), int(wantL)) || !within1(int(right), int(wantR)) {
			t.Errorf("%v: luma left %d right %d, want %d and %d", format, left, right, wantL, wantR)
		}
		// Chroma of the left half: U at (20,45) in I420; interleaved in NV12.
		u := dst.Planes[1][45*dst.Strides[1]+20]
		if format == NV12 {
			u = dst.Planes[1][45*dst.Strides[1]+40]
		}
		if wantU := src.Planes[1][90*src.Strides[1]+40]; !within1(int(u), int(wantU)) {
			t.Errorf("%v: U %d, want %d", format, u, wantU)
		}
	}
	nv := mustFrame(t, NV12, 640, 360)
	if err := s.Scale(src, nv); err == nil {
		t.Error("scaling from NV12 accepted")
	}
}
