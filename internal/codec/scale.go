package codec

// #cgo LDFLAGS: -lyuv
// #include <libyuv/scale.h>
// #include <libyuv/convert_from.h>
import "C"

import (
	"fmt"
	"unsafe"
)

// Scaler fills frames of one size from I420 frames of another, so one
// composed picture can feed renditions at several sizes. It keeps what it
// needs between calls, so scaling allocates nothing per frame.
type Scaler struct {
	scratch *Frame // I420 at the destination size, for NV12 destinations
}

// Scale resizes src (I420) into dst (I420 or NV12, any size) with bilinear
// filtering.
func (s *Scaler) Scale(dst, src *Frame) error {
	if err := src.check(); err != nil {
		return err
	}
	if err := dst.check(); err != nil {
		return err
	}
	if src.Format != I420 {
		return fmt.Errorf("codec: scaling from %v: want I420", src.Format)
	}
	to := dst
	if dst.Format == NV12 {
		if s.scratch == nil || s.scratch.Width != dst.Width || s.scratch.Height != dst.Height {
			var err error
			if s.scratch, err = NewFrame(I420, dst.Width, dst.Height); err != nil {
				return err
			}
		}
		to = s.scratch
	}
	p := func(f *Frame, i int) *C.uint8_t { return (*C.uint8_t)(unsafe.Pointer(&f.Planes[i][0])) }
	st := func(f *Frame, i int) C.int { return C.int(f.Strides[i]) }
	rc := C.I420Scale(p(src, 0), st(src, 0), p(src, 1), st(src, 1), p(src, 2), st(src, 2),
		C.int(src.Width), C.int(src.Height),
		p(to, 0), st(to, 0), p(to, 1), st(to, 1), p(to, 2), st(to, 2),
		C.int(to.Width), C.int(to.Height), C.kFilterBilinear)
	if rc != 0 {
		return fmt.Errorf("codec: libyuv scaling failed (%d)", int(rc))
	}
	if to != dst {
		rc = C.I420ToNV12(p(to, 0), st(to, 0), p(to, 1), st(to, 1), p(to, 2), st(to, 2),
			p(dst, 0), st(dst, 0), p(dst, 1), st(dst, 1), C.int(dst.Width), C.int(dst.Height))
		if rc != 0 {
			return fmt.Errorf("codec: libyuv I420 to NV12 failed (%d)", int(rc))
		}
	}
	return nil
}
