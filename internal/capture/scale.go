package capture

import (
	"encoding/binary"
	"image"
)

// ScaleBilinear scales src into all of dst with bilinear filtering (a plain
// copy when the sizes match). It is meant for pictures scaled once or
// rarely (still images, snapshots): about 10 ms per 720p frame.
func ScaleBilinear(dst, src *image.RGBA) {
	db, sb := dst.Bounds(), src.Bounds()
	dw, dh, sw, sh := db.Dx(), db.Dy(), sb.Dx(), sb.Dy()
	if dw <= 0 || dh <= 0 || sw <= 0 || sh <= 0 {
		return
	}
	if dw == sw && dh == sh {
		copyRGBA(dst, src)
		return
	}
	// Pixel centres map to pixel centres; positions are 8.8 fixed point.
	type tap struct{ i0, i1, f int }
	taps := func(d, s int) []tap {
		t := make([]tap, d)
		for i := range t {
			p := ((2*i+1)*s*256)/(2*d) - 128
			p = max(p, 0)
			i0 := min(p>>8, s-1)
			t[i] = tap{i0, min(i0+1, s-1), p & 255}
		}
		return t
	}
	xt, yt := taps(dw, sw), taps(dh, sh)
	for y, ty := range yt {
		r0 := src.Pix[src.PixOffset(sb.Min.X, sb.Min.Y+ty.i0):]
		r1 := src.Pix[src.PixOffset(sb.Min.X, sb.Min.Y+ty.i1):]
		out := dst.Pix[dst.PixOffset(db.Min.X, db.Min.Y+y):]
		fy := ty.f
		for x, tx := range xt {
			a, b := 4*tx.i0, 4*tx.i1
			fx := tx.f
			for c := 0; c < 4; c++ {
				top := int(r0[a+c])*(256-fx) + int(r0[b+c])*fx
				bot := int(r1[a+c])*(256-fx) + int(r1[b+c])*fx
				out[4*x+c] = uint8((top*(256-fy) + bot*fy + 1<<15) >> 16)
			}
		}
	}
}

// bgrxScaler turns X11 pixels (bytes B,G,R,X) into RGBA, scaling by nearest
// neighbour when sizes differ: cheap enough to run on every captured frame.
// It keeps its column table between calls so steady-state frames do not
// allocate.
type bgrxScaler struct {
	sw, dw int
	cols   []int // byte offset in a source row of each destination column
}

// convert draws the sw×sh pixels in src (rows stride bytes apart) into all
// of dst.
func (s *bgrxScaler) convert(dst *image.RGBA, src []byte, stride, sw, sh int) {
	db := dst.Bounds()
	dw, dh := db.Dx(), db.Dy()
	if dw <= 0 || dh <= 0 || sw <= 0 || sh <= 0 {
		return
	}
	if dw == sw && dh == sh {
		bgrxToRGBA(dst.Pix[dst.PixOffset(db.Min.X, db.Min.Y):], dst.Stride, src, stride, sw, sh)
		return
	}
	if s.sw != sw || s.dw != dw {
		s.sw, s.dw = sw, dw
		s.cols = make([]int, dw)
		for x := range s.cols {
			s.cols[x] = 4 * ((2*x + 1) * sw / (2 * dw))
		}
	}
	for y := 0; y < dh; y++ {
		row := src[((2*y+1)*sh/(2*dh))*stride:]
		di := dst.PixOffset(db.Min.X, db.Min.Y+y)
		out := dst.Pix[di : di+4*dw]
		for x, off := range s.cols {
			v := binary.LittleEndian.Uint32(row[off:])
			binary.LittleEndian.PutUint32(out[4*x:], v>>16&0xff|v&0xff00|(v&0xff)<<16|0xff000000)
		}
	}
}

// bgrxToRGBAGo is bgrxToRGBA in Go, two pixels at a time.
func bgrxToRGBAGo(dst []byte, dstStride int, src []byte, srcStride, w, h int) {
	for y := 0; y < h; y++ {
		bgrxRow(dst[y*dstStride:y*dstStride+4*w], src[y*srcStride:y*srcStride+4*w])
	}
}

// bgrxRow converts one row, two pixels at a time.
func bgrxRow(d, s []byte) {
	d = d[:len(s)]
	i := 0
	for ; i+8 <= len(s); i += 8 {
		v := binary.LittleEndian.Uint64(s[i : i+8])
		v = v>>16&0x000000ff000000ff | v&0x0000ff000000ff00 | (v&0x000000ff000000ff)<<16 | 0xff000000ff000000
		binary.LittleEndian.PutUint64(d[i:i+8], v)
	}
	for ; i+4 <= len(s); i += 4 {
		d[i], d[i+1], d[i+2], d[i+3] = s[i+2], s[i+1], s[i], 255
	}
}
