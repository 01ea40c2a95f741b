// Command chromakey is an OnAir filter plugin: it makes the pixels of a
// layer close to a key colour (a green screen) transparent, so the layers
// below show through, and takes the key's tint off the edges that stay
// (spill reduction).
package main

import (
	"context"
	"fmt"
	"image/color"
	"strconv"

	"github.com/onair-studio/onair/plugins/sdk"
)

var info = sdk.Info{
	Name: "chromakey", Version: "1.0.0", Kind: sdk.KindFilter, Formats: []string{sdk.FormatRGBA},
	Description: "Keys out a colour (a green or blue screen) so the layers below show through.",
	Params: []sdk.Param{
		{Name: "key", Type: sdk.TypeColor, Default: "#00ff00", Description: "the colour keyed out"},
		{Name: "similarity", Type: sdk.TypeFloat, Default: "0.4", Min: "0.001", Max: "1",
			Description: "how far (in chroma) from the key a colour is still keyed out entirely"},
		{Name: "smoothness", Type: sdk.TypeFloat, Default: "0.08", Min: "0", Max: "1",
			Description: "how far beyond similarity the edge fades from transparent to opaque"},
		{Name: "spill", Type: sdk.TypeFloat, Default: "0.1", Min: "0", Max: "1",
			Description: "how far beyond the edge the key's tint is taken off (desaturated)"},
	},
}

// Chroma is measured in 8-bit steps, so a squared distance is below
// 2*256*256; the key's shape is one table indexed by it in steps of
// 1<<distShift, small enough to stay in the CPU's cache.
const (
	distShift = 4
	tableLen  = 2*256*256>>distShift + 1
)

// Kinds of RGB cells (see chromakey.cell).
const (
	cellComputed = iota
	cellUntouched
	cellKeyed
)

type chromakey struct {
	sdk.Base
	kcb, kcr int32
	// shape holds, by squared chroma distance from the key, how much of
	// a pixel stays (high half, 0..256) and how much of its colour is kept
	// (low half, 256: all; less: desaturated toward grey).
	shape []uint32
	// cell sorts the cells of RGB (5 bits a channel): every colour of an
	// untouched cell is far enough from the key to stay as it is, every
	// colour of a keyed one close enough to go entirely; only the cells
	// between are computed per pixel, so most pixels cost one lookup.
	cell [32 * 32 * 32]uint8
}

func (*chromakey) Info() sdk.Info { return info }

func (k *chromakey) Configure(_ context.Context, p map[string]string) error {
	key, err := sdk.ParseColor(p["key"])
	if err != nil {
		return err
	}
	num := func(name string) float64 { v, _ := strconv.ParseFloat(p[name], 64); return v }
	sim, smooth, spill := num("similarity"), num("smoothness"), num("spill")
	if key.A == 0 {
		return fmt.Errorf("key %s is fully transparent: give an opaque colour", p["key"])
	}
	k.kcb, k.kcr = chroma(straight(key))
	k.shape = make([]uint32, tableLen)
	for i := range tableLen {
		d := sqrt(float64(i<<distShift)) / 255 // 0..~1.41 in chroma units
		k.shape[i] = uint32(256*ramp(d, sim, smooth))<<16 | uint32(256*ramp(d, sim+smooth, spill))
	}
	// A cell spans 8 levels a channel; Cb and Cr move at most one level
	// per level of all three, so within the cell they are at most 4 from
	// the centre's each way: 6 in distance, rounded up.
	for i := range k.cell {
		c := color.RGBA{uint8(i>>10)<<3 | 4, uint8(i>>5&31)<<3 | 4, uint8(i&31)<<3 | 4, 255}
		cb, cr := chroma(c)
		d := sqrt(float64((cb-k.kcb)*(cb-k.kcb)+(cr-k.kcr)*(cr-k.kcr))) / 255
		switch margin := 7.0 / 255; {
		case d-margin > sim+smooth+spill:
			k.cell[i] = cellUntouched
		case d+margin < sim:
			k.cell[i] = cellKeyed
		default:
			k.cell[i] = cellComputed
		}
	}
	return nil
}

// ramp is 0 up to from, 1 from from+width on, linear between.
func ramp(d, from, width float64) float64 {
	switch {
	case d <= from:
		return 0
	case width <= 0 || d >= from+width:
		return 1
	}
	return (d - from) / width
}

func sqrt(x float64) float64 {
	// Newton's method is enough for a table; it keeps math out.
	if x == 0 {
		return 0
	}
	r := x
	for range 30 {
		r = (r + x/r) / 2
	}
	return r
}

func straight(c color.RGBA) color.RGBA {
	if c.A == 0 || c.A == 255 {
		return c
	}
	f := func(v uint8) uint8 { return uint8(min(255, int(v)*255/int(c.A))) }
	return color.RGBA{f(c.R), f(c.G), f(c.B), 255}
}

// chroma is a colour's Cb and Cr (BT.601), -128..127.
func chroma(c color.RGBA) (cb, cr int32) {
	r, g, b := int32(c.R), int32(c.G), int32(c.B)
	return (-43*r - 85*g + 128*b) >> 8, (128*r - 107*g - 21*b) >> 8
}

func (k *chromakey) Filter(_ context.Context, f *sdk.FilterFrame) error {
	if f.RGBA == nil {
		return fmt.Errorf("chromakey takes RGBA frames")
	}
	shape := k.shape[:tableLen]
	pix := f.RGBA.Pix
	for i := 0; i+3 < len(pix); i += 4 {
		p := pix[i : i+4 : i+4]
		if p[3] == 255 {
			switch k.cell[int(p[0]>>3)<<10|int(p[1]>>3)<<5|int(p[2]>>3)] {
			case cellUntouched:
				continue
			case cellKeyed:
				p[0], p[1], p[2], p[3] = 0, 0, 0, 0
				continue
			}
		}
		r, g, b, a := int32(p[0]), int32(p[1]), int32(p[2]), int32(p[3])
		if a == 0 {
			continue
		}
		// Premultiplied colour has the same chroma direction; scale it up
		// to opaque for the distance.
		cb, cr := (-43*r-85*g+128*b)>>8, (128*r-107*g-21*b)>>8
		if a != 255 {
			cb, cr = cb*255/a, cr*255/a
		}
		dcb, dcr := cb-k.kcb, cr-k.kcr
		d2 := uint32(dcb*dcb+dcr*dcr) >> distShift
		if d2 >= tableLen {
			continue
		}
		s := shape[d2]
		keep, sat := int32(s>>16), int32(s&0xffff)
		if keep == 256 && sat == 256 {
			continue // far from the key: untouched
		}
		if keep == 0 {
			p[0], p[1], p[2], p[3] = 0, 0, 0, 0
			continue
		}
		if sat < 256 { // desaturate toward the pixel's own luma
			y := (77*r + 150*g + 29*b) >> 8
			r, g, b = y+(r-y)*sat>>8, y+(g-y)*sat>>8, y+(b-y)*sat>>8
		}
		if keep < 256 {
			r, g, b, a = r*keep>>8, g*keep>>8, b*keep>>8, a*keep>>8
		}
		p[0], p[1], p[2], p[3] = uint8(r), uint8(g), uint8(b), uint8(a)
	}
	return nil
}

func main() { sdk.Serve(&chromakey{}) }
