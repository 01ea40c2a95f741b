package pluginhost

import (
	"fmt"
	"math"

	"github.com/onair-studio/onair/stub/pb"
)

// checkFrame reports what is wrong with a changed RenderReply for an output
// of width x height, or nil. It returns the overlay's opacity.
func checkFrame(r *pb.RenderReply, width, height int32) (float64, error) {
	x, y, w, h := int64(r.GetX()), int64(r.GetY()), int64(r.GetWidth()), int64(r.GetHeight())
	if w < 0 || h < 0 {
		return 0, fmt.Errorf("negative size %dx%d", w, h)
	}
	opacity := 1.0
	if r.Opacity != nil {
		opacity = r.GetOpacity()
		if math.IsNaN(opacity) || opacity < 0 || opacity > 1 {
			return 0, fmt.Errorf("opacity %g is not within 0..1", opacity)
		}
	}
	if w == 0 || h == 0 {
		return opacity, nil // shows nothing
	}
	if w > MaxOverlaySide || h > MaxOverlaySide || w*h > MaxOverlayPixels {
		return 0, fmt.Errorf("absurd size %dx%d (at most %d on a side, %d pixels)", w, h, MaxOverlaySide, MaxOverlayPixels)
	}
	if x < 0 || y < 0 || x+w > int64(width) || y+h > int64(height) {
		return 0, fmt.Errorf("rectangle %dx%d at %d,%d is not inside the %dx%d output", w, h, x, y, width, height)
	}
	if n := int64(len(r.GetRgba())); n != w*h*4 {
		return 0, fmt.Errorf("rgba is %d bytes, want %dx%dx4 = %d", n, w, h, w*h*4)
	}
	px := r.GetRgba()
	for i := 0; i < len(px); i += 4 {
		a := px[i+3]
		if px[i] > a || px[i+1] > a || px[i+2] > a {
			p := int64(i / 4)
			return 0, fmt.Errorf("not premultiplied: pixel %d,%d has a colour above its alpha", p%w, p/w)
		}
	}
	return opacity, nil
}
