//go:build ignore

// logo_gen draws the built-in logo, logo.png: go run logo_gen.go
package main

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"

	"github.com/onair-studio/onair/plugins/sdk"
)

func main() {
	const w, h, r = 200, 72, 18.0
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	red := color.RGBA{0xd9, 0x1e, 0x2a, 0xff}
	// A rounded rectangle with anti-aliased corners.
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			cx := math.Max(r, math.Min(float64(w)-r, float64(x)+0.5))
			cy := math.Max(r, math.Min(float64(h)-r, float64(y)+0.5))
			d := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy)
			cover := math.Max(0, math.Min(1, r-d+0.5))
			a := uint8(math.Round(cover * 255))
			img.SetRGBA(x, y, color.RGBA{uint8(uint32(red.R) * uint32(a) / 255), uint8(uint32(red.G) * uint32(a) / 255),
				uint8(uint32(red.B) * uint32(a) / 255), a})
		}
	}
	// A white dot and the words.
	for y := 0; y < h; y++ {
		for x := 0; x < 44; x++ {
			d := math.Hypot(float64(x)+0.5-30, float64(y)+0.5-36)
			cover := math.Max(0, math.Min(1, 9-d+0.5))
			if cover > 0 {
				over(img, x, y, cover)
			}
		}
	}
	m := sdk.TextMask("ON AIR", 40)
	draw.DrawMask(img, m.Bounds().Add(image.Pt(48, 16)), image.NewUniform(color.White), image.Point{}, m, image.Point{}, draw.Over)
	f, err := os.Create("logo.png")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		panic(err)
	}
}

// over blends white with coverage c over the pixel at x, y.
func over(img *image.RGBA, x, y int, c float64) {
	p := img.RGBAAt(x, y)
	blend := func(v uint8) uint8 { return uint8(math.Round(255*c + float64(v)*(1-c))) }
	img.SetRGBA(x, y, color.RGBA{blend(p.R), blend(p.G), blend(p.B), blend(p.A)})
}
