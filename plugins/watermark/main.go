// Command watermark is an OnAir overlay plugin: a logo image at a corner of
// the program, with an opacity.
package main

//go:generate go run logo_gen.go

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math"
	"os"
	"strconv"

	"github.com/onair-studio/onair/plugins/sdk"
)

// logo.png is the built-in logo, drawn by logo_gen.go.
//
//go:embed logo.png
var logoPNG []byte

type watermark struct {
	sdk.Base
	logo    *image.RGBA // as loaded
	pos     sdk.Position
	opacity float64
	width   int
	margin  int
	// scaled is logo at the size last rendered, for output.
	scaled *image.RGBA
	output image.Point
}

func (*watermark) Info() sdk.Info {
	return sdk.Info{
		Name: "watermark", Version: "1.0.0", Kind: sdk.KindOverlay,
		Description: "Shows a logo image.",
		Params: []sdk.Param{
			{Name: "image", Type: sdk.TypeString, Description: "PNG file (relative to the plugins directory); empty for the built-in logo"},
			{Name: "position", Type: sdk.TypePosition, Default: "bottom-right", Description: "where the logo goes"},
			{Name: "opacity", Type: sdk.TypeFloat, Default: "0.8", Description: "0 (invisible) .. 1 (opaque)"},
			{Name: "width", Type: sdk.TypeInt, Default: "0", Description: "width in pixels (height keeps the aspect); 0 keeps the image's size"},
			{Name: "margin", Type: sdk.TypeInt, Default: "16", Description: "distance from the edges in pixels"},
		},
	}
}

func (w *watermark) Configure(_ context.Context, p map[string]string) error {
	data := logoPNG
	if f := p["image"]; f != "" {
		var err error
		if data, err = os.ReadFile(f); err != nil {
			return err
		}
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("image %q: %w", p["image"], err)
	}
	if b := img.Bounds(); b.Dx() > 4096 || b.Dy() > 4096 {
		return fmt.Errorf("image %q is %dx%d: at most 4096x4096", p["image"], b.Dx(), b.Dy())
	}
	opacity, _ := strconv.ParseFloat(p["opacity"], 64)
	if opacity < 0 || opacity > 1 {
		return fmt.Errorf("opacity %g: want 0..1", opacity)
	}
	width, _ := strconv.Atoi(p["width"])
	margin, _ := strconv.Atoi(p["margin"])
	pos, _ := sdk.ParsePosition(p["position"])
	rgba := image.NewRGBA(image.Rectangle{Max: img.Bounds().Size()})
	draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src) // premultiplies
	w.logo, w.pos, w.opacity, w.width, w.margin, w.scaled = rgba, pos, opacity, max(width, 0), max(margin, 0), nil
	return nil
}

func (w *watermark) Render(_ context.Context, out image.Point) (sdk.Frame, error) {
	if w.opacity == 0 {
		return sdk.Frame{}, nil
	}
	if w.scaled == nil || w.output != out {
		size := w.logo.Bounds().Size()
		if w.width > 0 {
			size = image.Pt(w.width, max(1, int(math.Round(float64(size.Y)*float64(w.width)/float64(size.X)))))
		}
		// Never larger than the output.
		if f := math.Min(float64(out.X)/float64(size.X), float64(out.Y)/float64(size.Y)); f < 1 {
			size = image.Pt(max(1, int(float64(size.X)*f)), max(1, int(float64(size.Y)*f)))
		}
		w.scaled, w.output = resize(w.logo, size), out
	}
	at := w.pos.Place(w.scaled.Bounds().Size(), out, w.margin)
	return sdk.Frame{Image: w.scaled, At: at, Opacity: w.opacity}, nil
}

// resize scales src to size bilinearly (premultiplied colours blend right).
func resize(src *image.RGBA, size image.Point) *image.RGBA {
	if src.Bounds().Size() == size {
		return src
	}
	dst := image.NewRGBA(image.Rectangle{Max: size})
	sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
	fx, fy := float64(sw)/float64(size.X), float64(sh)/float64(size.Y)
	clamp := func(v, hi int) int { return min(max(v, 0), hi-1) }
	for y := 0; y < size.Y; y++ {
		sy := (float64(y)+0.5)*fy - 0.5
		y0 := int(math.Floor(sy))
		ty := sy - float64(y0)
		for x := 0; x < size.X; x++ {
			sx := (float64(x)+0.5)*fx - 0.5
			x0 := int(math.Floor(sx))
			tx := sx - float64(x0)
			for c := 0; c < 4; c++ {
				at := func(xx, yy int) float64 {
					return float64(src.Pix[src.PixOffset(clamp(xx, sw), clamp(yy, sh))+c])
				}
				v := (at(x0, y0)*(1-tx)+at(x0+1, y0)*tx)*(1-ty) + (at(x0, y0+1)*(1-tx)+at(x0+1, y0+1)*tx)*ty
				dst.Pix[dst.PixOffset(x, y)+c] = uint8(math.Round(v))
			}
		}
	}
	return dst
}

func main() { sdk.Serve(&watermark{}) }
