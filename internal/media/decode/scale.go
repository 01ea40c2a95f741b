package decode

import "image"

// scaleInto draws src into all of dst, nearest pixel: only for the frame
// after a layer changed size, until the decoder scales to the new size.
func scaleInto(dst, src *image.RGBA) {
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	for y := 0; y < dh; y++ {
		sy := y * sh / dh
		for x := 0; x < dw; x++ {
			sx := x * sw / dw
			copy(dst.Pix[dst.PixOffset(dst.Rect.Min.X+x, dst.Rect.Min.Y+y):][:4], src.Pix[src.PixOffset(src.Rect.Min.X+sx, src.Rect.Min.Y+sy):][:4])
		}
	}
}
