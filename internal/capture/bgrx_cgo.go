//go:build cgo

package capture

// #cgo LDFLAGS: -lyuv
// #include <libyuv/convert_from_argb.h>
// #include <libyuv/planar_functions.h>
import "C"

import "unsafe"

// opaqueRow is a row of 255s, read again for every row (stride 0) to set
// alpha.
var opaqueRow = func() []byte {
	b := make([]byte, 16384)
	for i := range b {
		b[i] = 255
	}
	return b
}()

// bgrxToRGBA converts w×h X11 pixels (B,G,R,X; rows srcStride bytes apart)
// into R,G,B,A with alpha 255 (rows dstStride apart), with libyuv's SIMD
// rows: several times faster than Go on a full-screen frame.
func bgrxToRGBA(dst []byte, dstStride int, src []byte, srcStride, w, h int) {
	if w <= 0 || h <= 0 || w > len(opaqueRow) ||
		len(src) < (h-1)*srcStride+4*w || len(dst) < (h-1)*dstStride+4*w {
		bgrxToRGBAGo(dst, dstStride, src, srcStride, w, h)
		return
	}
	// libyuv names pixels by their 32-bit value: its "ARGB" is B,G,R,A in
	// memory and its "ABGR" is R,G,B,A.
	d := (*C.uint8_t)(unsafe.Pointer(&dst[0]))
	C.ARGBToABGR((*C.uint8_t)(unsafe.Pointer(&src[0])), C.int(srcStride), d, C.int(dstStride), C.int(w), C.int(h))
	C.ARGBCopyYToAlpha((*C.uint8_t)(unsafe.Pointer(&opaqueRow[0])), 0, d, C.int(dstStride), C.int(w), C.int(h))
}
