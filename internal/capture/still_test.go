package capture

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestColorSource(t *testing.T) {
	src, err := Open("color:#ff8800")
	if err != nil {
		t.Fatal(err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, 8, 4))
	src.Read(dst, 0, time.Time{})
	if g := dst.RGBAAt(7, 3); g != (color.RGBA{255, 136, 0, 255}) || !src.Opaque() {
		t.Errorf("got %v opaque=%v", g, src.Opaque())
	}
	// Half-transparent colours come out premultiplied, as image.RGBA wants.
	src, _ = Open("color:#ff880080")
	src.Read(dst, 0, time.Time{})
	if g := dst.RGBAAt(0, 0); g != (color.RGBA{128, 68, 0, 128}) || src.Opaque() {
		t.Errorf("got %v opaque=%v", g, src.Opaque())
	}
}

func writeImage(t *testing.T, name string, img image.Image) string {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if strings.HasSuffix(name, ".png") {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImageSource(t *testing.T) {
	// Four 8×8 quadrants: red, green, blue, half-transparent white.
	quads := []color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {255, 255, 255, 128}}
	img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			img.SetNRGBA(x, y, quads[y/8*2+x/8])
		}
	}
	src, err := Open("image:" + writeImage(t, "logo.png", img))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if src.Size() != image.Pt(16, 16) || src.Opaque() {
		t.Errorf("size %v opaque %v", src.Size(), src.Opaque())
	}
	same := image.NewRGBA(image.Rect(0, 0, 16, 16))
	src.Read(same, 0, time.Time{})
	if g := same.RGBAAt(12, 12); g != (color.RGBA{128, 128, 128, 128}) {
		t.Errorf("transparent quadrant: got %v", g)
	}
	// Scaled up 4×: quadrant centres keep their colours.
	big := image.NewRGBA(image.Rect(0, 0, 64, 64))
	src.Read(big, 0, time.Time{})
	for i, p := range []image.Point{{16, 16}, {48, 16}, {16, 48}} {
		want := color.RGBAModel.Convert(quads[i]).(color.RGBA)
		if g := big.RGBAAt(p.X, p.Y); g != want {
			t.Errorf("scaled %v: got %v, want %v", p, g, want)
		}
	}
	// The scaled picture is made once, not per frame.
	if n := testing.AllocsPerRun(5, func() { src.Read(big, 1, time.Time{}) }); n != 0 {
		t.Errorf("%.0f allocations per frame", n)
	}

	// JPEG, opaque.
	src, err = Open("image:" + writeImage(t, "photo.jpg", img.SubImage(image.Rect(0, 0, 8, 8))))
	if err != nil {
		t.Fatal(err)
	}
	src.Read(same, 0, time.Time{})
	if g := same.RGBAAt(8, 8); g.R < 240 || g.G > 16 || g.B > 16 || !src.Opaque() {
		t.Errorf("jpeg: got %v opaque=%v", g, src.Opaque())
	}

	if _, err := Open("image:/nonexistent/logo.png"); err == nil || !strings.Contains(err.Error(), "/nonexistent/logo.png") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.png")
	os.WriteFile(bad, []byte("not a picture"), 0o644)
	if _, err := Open("image:" + bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: %v", err)
	}
}

func TestScaleBilinear(t *testing.T) {
	// A uniform picture stays uniform at any size.
	src := image.NewRGBA(image.Rect(0, 0, 7, 5))
	fillRect(src, src.Rect, color.RGBA{10, 200, 30, 255})
	for _, s := range []image.Point{{3, 2}, {7, 5}, {20, 11}, {1, 1}} {
		dst := image.NewRGBA(image.Rectangle{Max: s})
		ScaleBilinear(dst, src)
		for i := 0; i < len(dst.Pix); i += 4 {
			if c := (color.RGBA{dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3]}); c != (color.RGBA{10, 200, 30, 255}) {
				t.Fatalf("size %v: pixel %d is %v", s, i/4, c)
			}
		}
	}
	// Black to white over two pixels: a 4-pixel row ramps between them.
	src = image.NewRGBA(image.Rect(0, 0, 2, 1))
	src.SetRGBA(1, 0, color.RGBA{255, 255, 255, 255})
	src.SetRGBA(0, 0, color.RGBA{0, 0, 0, 255})
	dst := image.NewRGBA(image.Rect(0, 0, 4, 1))
	ScaleBilinear(dst, src)
	want := []int{0, 64, 191, 255}
	for x, w := range want {
		if g := int(dst.RGBAAt(x, 0).R); g < w-1 || g > w+1 {
			t.Errorf("ramp x=%d: %d, want %d", x, g, w)
		}
	}
}

func TestBGRXConvert(t *testing.T) {
	// 3×2 pixels, stride with padding.
	src := []byte{
		1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 99, 99, 99, 99,
		10, 11, 12, 0, 13, 14, 15, 0, 16, 17, 18, 0, 99, 99, 99, 99,
	}
	var s bgrxScaler
	dst := image.NewRGBA(image.Rect(0, 0, 3, 2))
	s.convert(dst, src, 16, 3, 2)
	if g := dst.RGBAAt(0, 0); g != (color.RGBA{3, 2, 1, 255}) {
		t.Errorf("0,0: %v", g)
	}
	if g := dst.RGBAAt(2, 1); g != (color.RGBA{18, 17, 16, 255}) {
		t.Errorf("2,1: %v", g)
	}
	// Nearest neighbour: 3×2 to 6×4 repeats each pixel 2×2.
	big := image.NewRGBA(image.Rect(0, 0, 6, 4))
	s.convert(big, src, 16, 3, 2)
	if g := big.RGBAAt(3, 1); g != (color.RGBA{6, 5, 4, 255}) {
		t.Errorf("scaled 3,1: %v", g)
	}
	if g := big.RGBAAt(5, 3); g != (color.RGBA{18, 17, 16, 255}) {
		t.Errorf("scaled 5,3: %v", g)
	}
}

func BenchmarkBGRXConvert1080p(b *testing.B) {
	src := make([]byte, 1920*1080*4)
	dst := image.NewRGBA(image.Rect(0, 0, 1920, 1080))
	var s bgrxScaler
	for b.Loop() {
		s.convert(dst, src, 1920*4, 1920, 1080)
	}
}
