//go:build !cgo

package capture

// bgrxToRGBA converts w×h X11 pixels (B,G,R,X; rows srcStride bytes apart)
// into R,G,B,A with alpha 255 (rows dstStride apart). Without cgo it is the
// Go loop.
func bgrxToRGBA(dst []byte, dstStride int, src []byte, srcStride, w, h int) {
	bgrxToRGBAGo(dst, dstStride, src, srcStride, w, h)
}
