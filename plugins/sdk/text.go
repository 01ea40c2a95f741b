package sdk

import (
	"bytes"
	_ "embed"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"sync"
)

// font.png holds the printable ASCII glyphs (32..126) of DejaVu Sans Mono
// (Bitstream Vera licence), anti-aliased, in one row of fixed cells.
//
//go:embed font.png
var fontPNG []byte

const (
	cellW     = 20
	cellH     = 39
	firstRune = 32
	lastRune  = 126
)

var (
	fontOnce  sync.Once
	fontAtlas *image.Gray
)

func atlas() *image.Gray {
	fontOnce.Do(func() {
		img, err := png.Decode(bytes.NewReader(fontPNG))
		if err != nil {
			panic("sdk: embedded font: " + err.Error())
		}
		g := image.NewGray(img.Bounds())
		draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
		fontAtlas = g
	})
	return fontAtlas
}

// TextSize is the size of s drawn height pixels high (one line; the font is
// monospace).
func TextSize(s string, height int) image.Point {
	if height <= 0 {
		return image.Point{}
	}
	return image.Pt(len([]rune(s))*glyphWidth(height), height)
}

func glyphWidth(height int) int {
	return max(1, int(math.Round(float64(cellW)*float64(height)/cellH)))
}

// TextMask draws s height pixels high into an alpha mask; runes outside
// printable ASCII are drawn as '?'.
func TextMask(s string, height int) *image.Alpha {
	size := TextSize(s, height)
	m := image.NewAlpha(image.Rectangle{Max: size})
	if size.X == 0 {
		return m
	}
	a := atlas()
	gw := glyphWidth(height)
	sx := float64(cellW) / float64(gw)
	sy := float64(cellH) / float64(height)
	for i, r := range []rune(s) {
		if r < firstRune || r > lastRune {
			r = '?'
		}
		base := int(r-firstRune) * cellW
		for y := 0; y < height; y++ {
			fy := (float64(y)+0.5)*sy - 0.5
			for x := 0; x < gw; x++ {
				fx := (float64(x)+0.5)*sx - 0.5
				m.Pix[y*m.Stride+i*gw+x] = sample(a, base, fx, fy)
			}
		}
	}
	return m
}

// sample reads the atlas bilinearly inside the cell starting at column base.
func sample(a *image.Gray, base int, fx, fy float64) uint8 {
	x0, y0 := math.Floor(fx), math.Floor(fy)
	tx, ty := fx-x0, fy-y0
	at := func(x, y int) float64 {
		if x < 0 || x >= cellW || y < 0 || y >= cellH {
			return 0
		}
		return float64(a.Pix[y*a.Stride+base+x])
	}
	ix, iy := int(x0), int(y0)
	v := (at(ix, iy)*(1-tx)+at(ix+1, iy)*tx)*(1-ty) + (at(ix, iy+1)*(1-tx)+at(ix+1, iy+1)*tx)*ty
	return uint8(math.Round(min(max(v, 0), 255)))
}

// DrawText draws s in colour c with its top-left corner at at.
func DrawText(dst draw.Image, at image.Point, s string, height int, c color.Color) {
	m := TextMask(s, height)
	draw.DrawMask(dst, m.Bounds().Add(at), image.NewUniform(c), image.Point{}, m, image.Point{}, draw.Over)
}

// Text returns a label: s in colour fg on a background bg, with pad pixels
// of background around it.
func Text(s string, height int, fg, bg color.Color, pad int) *image.RGBA {
	size := TextSize(s, height).Add(image.Pt(2*pad, 2*pad))
	img := image.NewRGBA(image.Rectangle{Max: size})
	draw.Draw(img, img.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	DrawText(img, image.Pt(pad, pad), s, height, fg)
	return img
}
