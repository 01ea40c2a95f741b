// Command lut is an OnAir filter plugin: it grades a layer's colours (or
// the program's) with a 3D LUT from a .cube file, as exported by DaVinci
// Resolve, Premiere or any grading tool.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/onair-studio/onair/plugins/sdk"
)

var info = sdk.Info{
	Name: "lut", Version: "1.0.0", Kind: sdk.KindFilter, Formats: []string{sdk.FormatRGBA},
	Description: "Applies a 3D colour LUT (.cube file) to the layer or the program.",
	Params: []sdk.Param{
		{Name: "file", Type: sdk.TypeString, Description: "the .cube file (relative paths are in the plugins directory)"},
		{Name: "amount", Type: sdk.TypeFloat, Default: "1", Min: "0", Max: "1",
			Description: "how much of the graded colour to show over the original"},
	},
}

type lut struct {
	sdk.Base
	// table maps each 8-bit input through the LUT, built once per file:
	// the cube is sampled at steps of 4 levels (64³ entries) and each
	// frame interpolates between those.
	grid   [gridN * gridN * gridN][3]uint8
	amount int32 // 0..256
}

// gridN samples a LUT every 255/(gridN-1) levels; trilinear between
// samples keeps the error below one level for smooth grades.
const gridN = 52

func (*lut) Info() sdk.Info { return info }

func (l *lut) Configure(_ context.Context, p map[string]string) error {
	if p["file"] == "" {
		return fmt.Errorf("file: name a .cube LUT file")
	}
	f, err := os.Open(p["file"])
	if err != nil {
		return fmt.Errorf("file: %v", err)
	}
	defer f.Close()
	c, err := ParseCube(p["file"], f)
	if err != nil {
		return err
	}
	amount, _ := strconv.ParseFloat(p["amount"], 64)
	l.amount = int32(amount*256 + 0.5)
	for b := range gridN {
		for g := range gridN {
			for r := range gridN {
				in := [3]float32{float32(r) / (gridN - 1), float32(g) / (gridN - 1), float32(b) / (gridN - 1)}
				out := c.Lookup(in)
				for i := range 3 {
					l.grid[(b*gridN+g)*gridN+r][i] = uint8(min(max(out[i], 0), 1)*255 + 0.5)
				}
			}
		}
	}
	return nil
}

// Lookup maps one colour (0..1 per channel) through the cube, trilinearly.
func (c *Cube) Lookup(in [3]float32) [3]float32 {
	var i0 [3]int
	var fr [3]float32
	n := c.Size - 1
	for k := range 3 {
		x := (in[k] - c.DomainMin[k]) / (c.DomainMax[k] - c.DomainMin[k]) * float32(n)
		x = min(max(x, 0), float32(n))
		i0[k] = min(int(x), n-1)
		fr[k] = x - float32(i0[k])
	}
	at := func(r, g, b int) [3]float32 { return c.Table[(b*c.Size+g)*c.Size+r] }
	var out [3]float32
	for k := range 3 {
		lerp := func(a, b, t float32) float32 { return a + (b-a)*t }
		c00 := lerp(at(i0[0], i0[1], i0[2])[k], at(i0[0]+1, i0[1], i0[2])[k], fr[0])
		c10 := lerp(at(i0[0], i0[1]+1, i0[2])[k], at(i0[0]+1, i0[1]+1, i0[2])[k], fr[0])
		c01 := lerp(at(i0[0], i0[1], i0[2]+1)[k], at(i0[0]+1, i0[1], i0[2]+1)[k], fr[0])
		c11 := lerp(at(i0[0], i0[1]+1, i0[2]+1)[k], at(i0[0]+1, i0[1]+1, i0[2]+1)[k], fr[0])
		out[k] = lerp(lerp(c00, c10, fr[1]), lerp(c01, c11, fr[1]), fr[2])
	}
	return out
}

func (l *lut) Filter(_ context.Context, f *sdk.FilterFrame) error {
	if f.RGBA == nil {
		return fmt.Errorf("lut takes RGBA frames")
	}
	pix := f.RGBA.Pix
	for i := 0; i+3 < len(pix); i += 4 {
		p := pix[i : i+4 : i+4]
		a := int32(p[3])
		if a == 0 {
			continue
		}
		var in [3]int32
		for k := range 3 {
			in[k] = int32(p[k])
			if a != 255 { // straight colour for the lookup
				in[k] = min(in[k]*255/a, 255)
			}
		}
		out := l.sample(in)
		for k := range 3 {
			v := in[k] + (out[k]-in[k])*l.amount>>8
			if a != 255 {
				v = v * a / 255
			}
			p[k] = uint8(v)
		}
	}
	return nil
}

// sample is the grid's trilinear value at an 8-bit colour, in fixed point.
func (l *lut) sample(in [3]int32) [3]int32 {
	var i0, fr [3]int32
	for k := range 3 {
		x := in[k] * (gridN - 1) * 256 / 255 // grid position, 8 fraction bits
		i0[k] = min(x>>8, gridN-2)
		fr[k] = x - i0[k]<<8
	}
	at := func(r, g, b int32) *[3]uint8 { return &l.grid[(b*gridN+g)*gridN+r] }
	var out [3]int32
	for k := range 3 {
		lerp := func(a, b, t int32) int32 { return a + (b-a)*t>>8 }
		c00 := lerp(int32(at(i0[0], i0[1], i0[2])[k]), int32(at(i0[0]+1, i0[1], i0[2])[k]), fr[0])
		c10 := lerp(int32(at(i0[0], i0[1]+1, i0[2])[k]), int32(at(i0[0]+1, i0[1]+1, i0[2])[k]), fr[0])
		c01 := lerp(int32(at(i0[0], i0[1], i0[2]+1)[k]), int32(at(i0[0]+1, i0[1], i0[2]+1)[k]), fr[0])
		c11 := lerp(int32(at(i0[0], i0[1]+1, i0[2]+1)[k]), int32(at(i0[0]+1, i0[1]+1, i0[2]+1)[k]), fr[0])
		out[k] = lerp(lerp(c00, c10, fr[1]), lerp(c01, c11, fr[1]), fr[2])
	}
	return out
}

func main() { sdk.Serve(&lut{}) }
