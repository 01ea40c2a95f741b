package main

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onair-studio/onair/plugins/sdk/sdktest"
)

// writeCube writes a size³ cube mapping each colour through f.
func writeCube(t testing.TB, size int, f func(r, g, b float64) (float64, float64, float64)) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# test\nTITLE \"test\"\nLUT_3D_SIZE %d\n", size)
	n := float64(size - 1)
	for bi := range size {
		for gi := range size {
			for ri := range size {
				r, g, bb := f(float64(ri)/n, float64(gi)/n, float64(bi)/n)
				fmt.Fprintf(&b, "%.6f %.6f %.6f\n", r, g, bb)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "grade.cube")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func fill(c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) bool { return x-y < 3 || y-x < 3 }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && a.A == b.A
}

func TestLUTGrades(t *testing.T) {
	swap := writeCube(t, 17, func(r, g, b float64) (float64, float64, float64) { return g, r, b })
	identity := writeCube(t, 33, func(r, g, b float64) (float64, float64, float64) { return r, g, b })
	for _, in := range []color.RGBA{{0, 255, 0, 255}, {200, 30, 90, 255}, {17, 130, 250, 255}, {40, 80, 20, 128}} {
		got := sdktest.Filter(t, &lut{}, map[string]string{"file": swap}, fill(in)).RGBAAt(1, 1)
		if want := (color.RGBA{in.G, in.R, in.B, in.A}); !near(got, want) {
			t.Errorf("swap LUT: %v became %v, want %v", in, got, want)
		}
		if got := sdktest.Filter(t, &lut{}, map[string]string{"file": identity}, fill(in)).RGBAAt(1, 1); !near(got, in) {
			t.Errorf("identity LUT: %v became %v", in, got)
		}
		half := sdktest.Filter(t, &lut{}, map[string]string{"file": swap, "amount": "0"}, fill(in)).RGBAAt(1, 1)
		if !near(half, in) {
			t.Errorf("amount 0: %v became %v", in, half)
		}
	}
}

func TestLUTRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	for body, want := range map[string]string{
		"LUT_3D_SIZE 2\n0 0 0\n1 0 0\n": "2 table entries, want 2³ = 8",
		"LUT_3D_SIZE 1000\n":            `:1: LUT_3D_SIZE "1000": want a whole number from 2 to 129`,
		"LUT_1D_SIZE 1024\n":            ":1: a 1D LUT",
		"0 0 0\n":                       ":1: a table entry before LUT_3D_SIZE",
		"LUT_3D_SIZE 2\n0 0 nan\n":      `:2: "nan" is not a finite number`,
		"LUT_3D_SIZE 2\n0 0\n":          ":2: want 3 numbers, got 2",
		"TITLE \"x\"\nGAMMA 2\n":        `:2: unknown keyword "GAMMA"`,
		"":                              "no LUT_3D_SIZE",
		"LUT_3D_SIZE 2\nDOMAIN_MIN 1 1 1\nDOMAIN_MAX 0 0 0\n" + strings.Repeat("0 0 0\n", 8): "DOMAIN_MIN",
	} {
		path := filepath.Join(dir, "bad.cube")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		f, _ := os.Open(path)
		_, err := ParseCube(path, f)
		f.Close()
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), path+":") {
			t.Errorf("%q: error %v, want %q after the file name", body, err, want)
		}
	}
	if err := (&lut{}).Configure(nil, map[string]string{"file": filepath.Join(dir, "missing.cube"), "amount": "1"}); err == nil ||
		!strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing file: %v", err)
	}
}

// FuzzParseCube: no input makes the parser panic, and whatever it accepts
// is a whole, finite table.
func FuzzParseCube(f *testing.F) {
	f.Add("LUT_3D_SIZE 2\n0 0 0\n1 0 0\n0 1 0\n1 1 0\n0 0 1\n1 0 1\n0 1 1\n1 1 1\n")
	f.Add("TITLE \"a\"\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 1 1\nLUT_3D_SIZE 2\n")
	f.Add("# c\nLUT_1D_SIZE 4\n")
	f.Fuzz(func(t *testing.T, body string) {
		c, err := ParseCube("fuzz.cube", strings.NewReader(body))
		if err != nil {
			return
		}
		if len(c.Table) != c.Size*c.Size*c.Size || c.Size < 2 || c.Size > maxCubeSize {
			t.Fatalf("accepted a cube of size %d with %d entries", c.Size, len(c.Table))
		}
		_ = c.Lookup([3]float32{0.5, 0.5, 0.5})
	})
}
