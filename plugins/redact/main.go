// Command redact is an OnAir filter plugin: it pixelates or blurs a
// rectangle of a layer or of the program (a chat window, a password field,
// an address on screen).
package main

import (
	"context"
	"fmt"
	"image"
	"strconv"
	"strings"

	"github.com/onair-studio/onair/plugins/sdk"
)

var info = sdk.Info{
	Name: "redact", Version: "1.0.0", Kind: sdk.KindFilter, Formats: []string{sdk.FormatRGBA},
	Description: "Pixelates or blurs a rectangle of the layer or the program.",
	Params: []sdk.Param{
		{Name: "rect", Type: sdk.TypeString, Description: "X,Y,WIDTH,HEIGHT in the frame's pixels; empty: the whole frame"},
		{Name: "mode", Type: sdk.TypeString, Default: "pixelate", Choices: []string{"pixelate", "blur"},
			Description: "pixelate: blocks of one colour; blur: a box blur"},
		{Name: "size", Type: sdk.TypeInt, Default: "16", Min: "2", Max: "256",
			Description: "block side (pixelate) or blur radius, in pixels"},
	},
}

type redact struct {
	sdk.Base
	rect  image.Rectangle // empty: the whole frame
	blur  bool
	size  int
	line  []uint32 // scratch for the blur's running sums
	pixel []byte
}

func (*redact) Info() sdk.Info { return info }

func (r *redact) Configure(_ context.Context, p map[string]string) error {
	rect, err := parseRect(p["rect"])
	if err != nil {
		return err
	}
	r.rect, r.blur = rect, p["mode"] == "blur"
	r.size, _ = strconv.Atoi(p["size"])
	return nil
}

// parseRect reads "X,Y,W,H".
func parseRect(s string) (image.Rectangle, error) {
	if s == "" {
		return image.Rectangle{}, nil
	}
	parts := strings.Split(s, ",")
	var v [4]int
	if len(parts) == 4 {
		for i, p := range parts {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || n < 0 || n > 16384 {
				parts = nil
				break
			}
			v[i] = n
		}
	}
	if len(parts) != 4 || v[2] == 0 || v[3] == 0 {
		return image.Rectangle{}, fmt.Errorf("rect %q: want X,Y,WIDTH,HEIGHT in pixels, e.g. 40,600,400,100", s)
	}
	return image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]), nil
}

func (r *redact) Filter(_ context.Context, f *sdk.FilterFrame) error {
	if f.RGBA == nil {
		return fmt.Errorf("redact takes RGBA frames")
	}
	area := f.RGBA.Rect
	if !r.rect.Empty() {
		area = r.rect.Intersect(area)
	}
	if area.Empty() {
		return nil
	}
	img := f.RGBA.SubImage(area).(*image.RGBA)
	if r.blur {
		r.boxBlur(img)
	} else {
		pixelate(img, r.size)
	}
	return nil
}

// pixelate fills each size×size block with its mean colour.
func pixelate(img *image.RGBA, size int) {
	b := img.Rect
	for by := b.Min.Y; by < b.Max.Y; by += size {
		for bx := b.Min.X; bx < b.Max.X; bx += size {
			block := image.Rect(bx, by, bx+size, by+size).Intersect(b)
			var sum [4]int
			for y := block.Min.Y; y < block.Max.Y; y++ {
				row := img.Pix[img.PixOffset(block.Min.X, y):img.PixOffset(block.Max.X, y)]
				for i := 0; i < len(row); i += 4 {
					sum[0], sum[1], sum[2], sum[3] = sum[0]+int(row[i]), sum[1]+int(row[i+1]), sum[2]+int(row[i+2]), sum[3]+int(row[i+3])
				}
			}
			n := block.Dx() * block.Dy()
			mean := [4]byte{byte(sum[0] / n), byte(sum[1] / n), byte(sum[2] / n), byte(sum[3] / n)}
			for y := block.Min.Y; y < block.Max.Y; y++ {
				row := img.Pix[img.PixOffset(block.Min.X, y):img.PixOffset(block.Max.X, y)]
				for i := 0; i < len(row); i += 4 {
					copy(row[i:i+4], mean[:])
				}
			}
		}
	}
}

// boxBlur blurs img with a box of radius r.size, rows then columns, each
// twice (close to a Gaussian). Means of premultiplied pixels stay
// premultiplied.
func (r *redact) boxBlur(img *image.RGBA) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for range 2 {
		for y := range h {
			r.blurLine(img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):], w, 4)
		}
		for x := range w {
			r.blurLine(img.Pix[img.PixOffset(img.Rect.Min.X+x, img.Rect.Min.Y):], h, img.Stride)
		}
	}
}

// blurLine replaces n pixels, step bytes apart from pix[0], with the mean
// of their neighbours within the radius (the window is cut at the ends).
func (r *redact) blurLine(pix []byte, n, step int) {
	if cap(r.pixel) < 4*n {
		r.pixel = make([]byte, 4*n)
		r.line = make([]uint32, 4*(n+1))
	}
	src, sums := r.pixel[:4*n], r.line[:4*(n+1)]
	for i := range n {
		copy(src[4*i:4*i+4], pix[i*step:i*step+4])
	}
	for c := range 4 {
		sums[c] = 0
	}
	for i := range n { // prefix sums: sums[i+1] = src[0..i]
		for c := range 4 {
			sums[4*(i+1)+c] = sums[4*i+c] + uint32(src[4*i+c])
		}
	}
	for i := range n {
		lo, hi := max(i-r.size, 0), min(i+r.size+1, n)
		for c := range 4 {
			pix[i*step+c] = byte((sums[4*hi+c] - sums[4*lo+c]) / uint32(hi-lo))
		}
	}
}

func main() { sdk.Serve(&redact{}) }
