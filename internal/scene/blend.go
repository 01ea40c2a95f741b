package scene

import (
	"image"
	"math"
)

// fullOpacity is opacity 1 in the 16-bit scale the blender works in.
const fullOpacity = 0xffff

// opacity16 maps 0..1 to 0..0xffff.
func opacity16(o float64) uint32 { return uint32(math.Round(o * fullOpacity)) }

// drawOver draws src with its top-left corner at at on dst (clipped),
// source-over, with src's alpha further scaled by op (0..0xffff). Both are
// premultiplied. opaque promises every src alpha is 255, which with op at
// full turns the blend into a row copy. The arithmetic is image/draw's, done
// here because image/draw has no fast path for a uniform opacity.
func drawOver(dst, src *image.RGBA, at image.Point, op uint32, opaque bool) {
	sb := src.Bounds()
	r := image.Rectangle{Min: at, Max: at.Add(sb.Size())}.Intersect(dst.Bounds())
	if r.Empty() || op == 0 {
		return
	}
	sp := sb.Min.Add(r.Min.Sub(at))
	n := 4 * r.Dx()
	for y := 0; y < r.Dy(); y++ {
		di := dst.PixOffset(r.Min.X, r.Min.Y+y)
		si := src.PixOffset(sp.X, sp.Y+y)
		d, s := dst.Pix[di:di+n:di+n], src.Pix[si:si+n:si+n]
		if opaque && op == fullOpacity {
			copy(d, s)
			continue
		}
		blendRow(d, s, op)
	}
}

func blendRow(d, s []byte, op uint32) {
	const m = 0xffff
	d = d[:len(s)]
	for i := 0; i+4 <= len(s); i += 4 {
		sa := uint32(s[i+3])
		switch {
		case sa == 0:
			continue
		case sa == 255 && op == m:
			copy(d[i:i+4], s[i:i+4])
			continue
		}
		a := (m - sa*0x101*op/m) * 0x101
		d[i+0] = uint8((uint32(d[i+0])*a + uint32(s[i+0])*0x101*op) / m >> 8)
		d[i+1] = uint8((uint32(d[i+1])*a + uint32(s[i+1])*0x101*op) / m >> 8)
		d[i+2] = uint8((uint32(d[i+2])*a + uint32(s[i+2])*0x101*op) / m >> 8)
		d[i+3] = uint8((uint32(d[i+3])*a + sa*0x101*op) / m >> 8)
	}
}

// fillBlack paints all of img opaque black.
func fillBlack(img *image.RGBA) {
	b := img.Bounds()
	if b.Empty() {
		return
	}
	n := 4 * b.Dx()
	first := img.PixOffset(b.Min.X, b.Min.Y)
	row := img.Pix[first : first+n]
	for i := 0; i < n; i += 4 {
		row[i], row[i+1], row[i+2], row[i+3] = 0, 0, 0, 255
	}
	for y := b.Min.Y + 1; y < b.Max.Y; y++ {
		i := img.PixOffset(b.Min.X, y)
		copy(img.Pix[i:i+n], row)
	}
}
