package codec

import (
	"image"
	"math"
	"testing"
)

// bt601 is the textbook BT.601 limited-range conversion of one colour.
func bt601(r, g, b float64) (y, u, v int) {
	y = int(math.Round(16 + (65.481*r+128.553*g+24.966*b)/255))
	u = int(math.Round(128 + (-37.797*r-74.203*g+112*b)/255))
	v = int(math.Round(128 + (112*r-93.786*g-18.214*b)/255))
	return
}

var testColours = [][3]byte{
	{255, 255, 255}, {0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255},
	{255, 255, 0}, {0, 255, 255}, {255, 0, 255}, {128, 128, 128}, {200, 100, 50},
}

func flatRGBA(w, h int, c [3]byte) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c[0], c[1], c[2], 255
	}
	return img
}

// toBGRA reorders an RGBA image's bytes the way X11 capture delivers them.
func toBGRA(img *image.RGBA) []byte {
	out := make([]byte, len(img.Pix))
	for i := 0; i < len(out); i += 4 {
		out[i], out[i+1], out[i+2], out[i+3] = img.Pix[i+2], img.Pix[i+1], img.Pix[i], img.Pix[i+3]
	}
	return out
}

// convertBoth converts img from both byte orders into format and checks the
// two agree exactly; it returns the result as planar yuv420p bytes.
func convertBoth(t *testing.T, img *image.RGBA, format Format) []byte {
	t.Helper()
	w, h := img.Rect.Dx(), img.Rect.Dy()
	a, b := mustFrame(t, format, w, h), mustFrame(t, format, w, h)
	if err := a.FromRGBA(img); err != nil {
		t.Fatal(err)
	}
	if err := b.FromBGRA(toBGRA(img), img.Stride); err != nil {
		t.Fatal(err)
	}
	ra, rb := i420Bytes(a), i420Bytes(b)
	if string(ra) != string(rb) {
		t.Fatalf("%v: RGBA and BGRA sources of the same picture convert differently", format)
	}
	return ra
}

func within1(a, b int) bool { return a-b <= 1 && b-a <= 1 }

// Flat colours give the BT.601 limited-range values in every sample, from
// both byte orders, in both layouts, and agree with ffmpeg's swscale.
func TestConvertPureColoursBT601(t *testing.T) {
	const w, h = 16, 16
	var rgba []byte
	for _, c := range testColours {
		rgba = append(rgba, flatRGBA(w, h, c).Pix...)
	}
	needTool(t, "ffmpeg")
	ref := run(t, rgba, "ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgba", "-s", "16x16",
		"-i", "-", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	size := w*h + 2*(w/2)*(h/2)
	if len(ref) != len(testColours)*size {
		t.Fatalf("ffmpeg gave %d bytes", len(ref))
	}
	for ci, c := range testColours {
		y, u, v := bt601(float64(c[0]), float64(c[1]), float64(c[2]))
		want := func(i int) int {
			switch {
			case i < w*h:
				return y
			case i < w*h+w*h/4:
				return u
			}
			return v
		}
		for _, format := range []Format{I420, NV12} {
			got := convertBoth(t, flatRGBA(w, h, c), format)
			ff := ref[ci*size : (ci+1)*size]
			for i := range got {
				if !within1(int(got[i]), want(i)) || !within1(int(got[i]), int(ff[i])) {
					t.Fatalf("%v colour %v sample %d: got %d, BT.601 %d, ffmpeg %d", format, c, i, got[i], want(i), ff[i])
				}
			}
		}
		t.Logf("RGB%v -> Y %d U %d V %d", c, y, u, v)
	}
}

// On a busy picture, luma matches ffmpeg's per pixel (chroma filters
// differ by design: libyuv box-averages each 2x2 block).
func TestConvertLumaMatchesFFmpeg(t *testing.T) {
	const w, h = 320, 180
	img := pattern(7, w, h)
	got := convertBoth(t, img, I420)
	ref := run(t, img.Pix, "ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgba", "-s", "320x180",
		"-i", "-", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	for i := 0; i < w*h; i++ {
		if !within1(int(got[i]), int(ref[i])) {
			t.Fatalf("luma at (%d,%d): %d, ffmpeg %d", i%w, i/w, got[i], ref[i])
		}
	}
	// NV12 is the same samples, only interleaved.
	nv := convertBoth(t, img, NV12)
	if string(nv) != string(got) {
		t.Fatal("NV12 and I420 carry different samples")
	}
}

// Sizes that do not fit are errors, not out-of-bounds writes.
func TestConvertRejectsBadInput(t *testing.T) {
	f := mustFrame(t, I420, 64, 32)
	if err := f.FromBGRA(make([]byte, 64*4*32-1), 64*4); err == nil {
		t.Error("short source accepted")
	}
	if err := f.FromBGRA(make([]byte, 64*4*32), 63*4); err == nil {
		t.Error("stride below row size accepted")
	}
	if err := f.FromRGBA(image.NewRGBA(image.Rect(0, 0, 32, 32))); err == nil {
		t.Error("image of another size accepted")
	}
	if err := f.FromRGBA(nil); err == nil {
		t.Error("nil image accepted")
	}
	f.Planes[1] = f.Planes[1][:5]
	if err := f.FromBGRA(make([]byte, 64*4*32), 64*4); err == nil {
		t.Error("short U plane accepted")
	}
	if _, err := NewFrame(I420, 0, 10); err == nil {
		t.Error("empty frame allocated")
	}
	// A sub-image (non-zero origin) converts its own pixels.
	big := flatRGBA(128, 64, [3]byte{0, 0, 0})
	sub := big.SubImage(image.Rect(64, 32, 128, 64)).(*image.RGBA)
	for i := 0; i < len(sub.Pix); i++ {
		sub.Pix[i] = 255
	}
	g := mustFrame(t, I420, 64, 32)
	if err := g.FromRGBA(sub); err != nil {
		t.Fatal(err)
	}
	if g.Planes[0][0] != 235 || g.Planes[0][len(g.Planes[0])-1] != 235 {
		t.Errorf("sub-image luma %d..%d, want 235", g.Planes[0][0], g.Planes[0][len(g.Planes[0])-1])
	}
}

// Odd sizes round chroma up and still convert every pixel.
func TestConvertOddSize(t *testing.T) {
	img := flatRGBA(33, 17, [3]byte{255, 0, 0})
	got := convertBoth(t, img, I420)
	if len(got) != 33*17+2*17*9 {
		t.Fatalf("%d bytes", len(got))
	}
	y, _, v := bt601(255, 0, 0)
	if !within1(int(got[33*17-1]), y) || !within1(int(got[len(got)-1]), v) {
		t.Fatalf("last luma %d, last V %d", got[33*17-1], got[len(got)-1])
	}
}

// NV12 made from I420 is the NV12 converted from RGB directly, byte for
// byte, so the pipeline can convert once for a hardware program and its
// renditions; I420 to I420 is a copy. Mismatched frames are refused.
func TestFromI420(t *testing.T) {
	for _, size := range [][2]int{{64, 36}, {33, 17}} {
		img := pattern(3, size[0], size[1])
		i420 := mustFrame(t, I420, size[0], size[1])
		if err := i420.FromRGBA(img); err != nil {
			t.Fatal(err)
		}
		for _, format := range []Format{NV12, I420} {
			direct, copied := mustFrame(t, format, size[0], size[1]), mustFrame(t, format, size[0], size[1])
			if err := direct.FromRGBA(img); err != nil {
				t.Fatal(err)
			}
			if err := copied.FromI420(i420); err != nil {
				t.Fatal(err)
			}
			if string(i420Bytes(direct)) != string(i420Bytes(copied)) {
				t.Errorf("%dx%d %v: from I420 differs from the direct conversion", size[0], size[1], format)
			}
		}
	}
	nv12 := mustFrame(t, NV12, 64, 36)
	if err := nv12.FromI420(mustFrame(t, I420, 32, 18)); err == nil {
		t.Error("a smaller frame was copied")
	}
	if err := mustFrame(t, I420, 64, 36).FromI420(nv12); err == nil {
		t.Error("an NV12 source was taken for I420")
	}
}

// BenchmarkNV12For1080p compares the two ways to get a hardware encoder's
// NV12 when I420 is needed anyway (for renditions): a second conversion
// from the captured BGRX, or a copy from the I420.
func BenchmarkNV12For1080p(b *testing.B) {
	src := toBGRA(pattern(0, 1920, 1080))
	i420, nv12 := mustFrame(b, I420, 1920, 1080), mustFrame(b, NV12, 1920, 1080)
	if err := i420.FromBGRA(src, 1920*4); err != nil {
		b.Fatal(err)
	}
	b.Run("from-BGRX", func(b *testing.B) {
		for b.Loop() {
			if err := nv12.FromBGRA(src, 1920*4); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("from-I420", func(b *testing.B) {
		for b.Loop() {
			if err := nv12.FromI420(i420); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkFromBGRA1080p(b *testing.B) {
	src := toBGRA(pattern(0, 1920, 1080))
	for _, format := range []Format{I420, NV12} {
		b.Run(format.String(), func(b *testing.B) {
			f := mustFrame(b, format, 1920, 1080)
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if err := f.FromBGRA(src, 1920*4); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
