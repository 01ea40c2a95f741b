package scene

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"strings"

	"github.com/onair-studio/onair/internal/capture"
)

// maxSnapshotScale caps a snapshot at twice the output size on each side: a
// larger picture shows nothing more, and costs the encoder child seconds
// and gigabytes.
const maxSnapshotScale = 2

// Snapshot encodes the latest composed frame as "png" or "jpeg" ("jpg") at
// w×h. A zero or negative w and h mean the output size; if only one is
// given the other follows the output's aspect ratio. It returns ErrNoFrame
// before the first frame, and an error saying the maximum for a size over
// twice the output's.
//
// The frame is copied under a read lock (well under a millisecond at 1080p),
// and scaled and encoded after it is released, so snapshots never hold up
// the render loop for longer than that copy.
func (c *Compositor) Snapshot(w, h int, format string) ([]byte, error) {
	format = strings.ToLower(format)
	if format != "png" && format != "jpeg" && format != "jpg" {
		return nil, fmt.Errorf("scene: snapshot format %q: want png or jpeg", format)
	}
	switch {
	case w <= 0 && h <= 0:
		w, h = c.w, c.h
	case w <= 0:
		w = max(1, (h*c.w+c.h/2)/c.h)
	case h <= 0:
		h = max(1, (w*c.h+c.w/2)/c.w)
	}
	if maxW, maxH := maxSnapshotScale*c.w, maxSnapshotScale*c.h; w > maxW || h > maxH {
		return nil, fmt.Errorf("snapshot size %dx%d is too large: at most %dx%d (twice the %dx%d output)", w, h, maxW, maxH, c.w, c.h)
	}

	frame := image.NewRGBA(image.Rect(0, 0, c.w, c.h))
	c.frameMu.RLock()
	if !c.hasFrame {
		c.frameMu.RUnlock()
		return nil, ErrNoFrame
	}
	if c.shownBGRX {
		capture.BGRXToRGBA(frame, c.shown.Pix, c.shown.Stride)
	} else {
		copy(frame.Pix, c.shown.Pix)
	}
	c.frameMu.RUnlock()

	pic := frame
	if w != c.w || h != c.h {
		pic = image.NewRGBA(image.Rect(0, 0, w, h))
		capture.ScaleBilinear(pic, frame)
	}
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, pic)
	} else {
		err = jpeg.Encode(&buf, pic, &jpeg.Options{Quality: 90})
	}
	if err != nil {
		return nil, fmt.Errorf("scene: snapshot: %w", err)
	}
	return buf.Bytes(), nil
}
