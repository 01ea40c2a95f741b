package capture

import (
	"fmt"
	"image"
	"time"

	"github.com/onair-studio/onair/internal/source"
)

// Source produces pictures on demand. A source is used by one goroutine at a
// time (the compositor's); Close may be called from another once reads stop.
type Source interface {
	// Read draws the picture for frame frameNo, captured at t, into all of
	// dst.Bounds(), scaling when dst's size differs from Size.
	Read(dst *image.RGBA, frameNo int64, t time.Time) error
	// Size is the source's own size in pixels, or zero for sources that
	// draw at any size (pattern, colour).
	Size() image.Point
	// Opaque reports whether every pixel Read writes has alpha 255, which
	// lets a compositor copy instead of blend.
	Opaque() bool
	// Close releases what the source holds (X connection, shared memory).
	Close() error
	// String returns the source string the source was opened from.
	String() string
}

// RawReader is implemented by sources that can hand over a picture as the
// X server holds it, bytes B,G,R,X (X undefined) rather than R,G,B,A: a
// compositor passing a full-frame capture straight to an encoder that reads
// that order saves a conversion pass over every pixel.
type RawReader interface {
	// ReadBGRX is Read, except that when raw is true dst holds B,G,R,X.
	// When the picture needs scaling or clipping it is drawn as Read draws
	// it and raw is false.
	ReadBGRX(dst *image.RGBA, frameNo int64, t time.Time) (raw bool, err error)
}

// SharedReader is implemented by sources that can lend a picture where the
// X server wrote it (the MIT-SHM segment), so a full-frame capture is
// converted for the encoder with no copy in between.
type SharedReader interface {
	// ReadShared captures the picture when it is exactly size, needing
	// neither scaling nor clipping, and returns its bytes B,G,R,X, rows
	// stride bytes apart. They stay valid until the next read or Close.
	// ok is false, and nothing was read, when the picture is not size.
	ReadShared(size image.Point, frameNo int64, t time.Time) (pix []byte, stride int, ok bool, err error)
}

// BGRXToRGBA converts X11 pixels (B,G,R,X, rows stride bytes apart) of
// dst's size into dst as R,G,B,A with alpha 255.
func BGRXToRGBA(dst *image.RGBA, src []byte, stride int) {
	b := dst.Bounds()
	bgrxToRGBA(dst.Pix[dst.PixOffset(b.Min.X, b.Min.Y):], dst.Stride, src, stride, b.Dx(), b.Dy())
}

// Open parses a source string (see source.Parse) and opens the source. Screen
// and window sources use the X display named by $DISPLAY.
func Open(s string) (Source, error) {
	spec, err := source.Parse(s)
	if err != nil {
		return nil, err
	}
	return OpenSpec(spec)
}

// OpenSpec opens a parsed source.
func OpenSpec(spec source.Spec) (Source, error) {
	switch spec.Kind {
	case source.KindPattern:
		return patternSource{}, nil
	case source.KindColor:
		return newColorSource(spec), nil
	case source.KindImage:
		// A typed nil pointer must not leak out as a non-nil Source.
		s, err := openImage(spec)
		if err != nil {
			return nil, err
		}
		return s, nil
	case source.KindText:
		s, err := openText(spec)
		if err != nil {
			return nil, err
		}
		return s, nil
	case source.KindFile, source.KindWebcam:
		s, err := openMedia(spec)
		if err != nil {
			return nil, err
		}
		return s, nil
	case source.KindScreen, source.KindWindow:
		s, err := openScreen(spec)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("source %q: unknown kind %q", spec.String(), spec.Kind)
}

// patternSource draws RenderPattern.
type patternSource struct{}

func (patternSource) Read(dst *image.RGBA, frameNo int64, t time.Time) error {
	RenderPattern(dst, frameNo, t)
	return nil
}
func (patternSource) Size() image.Point { return image.Point{} }
func (patternSource) Opaque() bool      { return true }
func (patternSource) Close() error      { return nil }
func (patternSource) String() string    { return string(source.KindPattern) }
