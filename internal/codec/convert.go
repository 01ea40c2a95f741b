package codec

// #cgo LDFLAGS: -lyuv
// #include <libyuv/convert.h>
// #include <libyuv/convert_from_argb.h>
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"

	"github.com/onair-studio/onair/internal/limits"
)

// Format is the plane layout of a Frame.
type Format int

const (
	// I420 is planar 4:2:0: Planes[0] is Y, Planes[1] is U (Cb), Planes[2]
	// is V (Cr), chroma halved (rounded up) in both directions.
	I420 Format = iota
	// NV12 is semi-planar 4:2:0: Planes[0] is Y, Planes[1] holds U,V pairs;
	// Planes[2] is unused. Hardware encoders take it natively.
	NV12
)

func (f Format) String() string {
	switch f {
	case I420:
		return "I420"
	case NV12:
		return "NV12"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Frame is one picture in I420 or NV12, BT.601 limited range. It is meant to
// be allocated once per output size and reused for every frame.
type Frame struct {
	Format        Format
	Width, Height int
	Planes        [3][]byte
	Strides       [3]int
	// direct is the libavcodec frame (*C.AVFrame) whose buffers the planes
	// are, for NewDirectFrame; nil for frames in Go memory.
	direct unsafe.Pointer
	// free releases direct now; nil for frames in Go memory and once freed.
	free func()
}

// Free releases a NewDirectFrame's planes now, rather than whenever the
// garbage collector finds the Frame unreachable: a few megabytes of C
// memory the collector does not see, which a pipeline that is replaced
// (every change of size or rate) would otherwise leave behind until the
// next collection. The frame must not be used after. A no-op for frames
// in Go memory and on a second call.
func (f *Frame) Free() {
	if f.free == nil {
		return
	}
	f.free()
	f.free, f.direct, f.Planes = nil, nil, [3][]byte{}
}

// NewFrame allocates a frame with tightly packed planes.
func NewFrame(format Format, width, height int) (*Frame, error) {
	if !limits.PictureSizeOK(width, height) {
		return nil, fmt.Errorf("codec: frame size %dx%d out of range", width, height)
	}
	cw, ch := (width+1)/2, (height+1)/2
	f := &Frame{Format: format, Width: width, Height: height}
	f.Planes[0], f.Strides[0] = make([]byte, width*height), width
	switch format {
	case I420:
		f.Planes[1], f.Strides[1] = make([]byte, cw*ch), cw
		f.Planes[2], f.Strides[2] = make([]byte, cw*ch), cw
	case NV12:
		f.Planes[1], f.Strides[1] = make([]byte, 2*cw*ch), 2*cw
	default:
		return nil, fmt.Errorf("codec: unknown frame format %v", format)
	}
	return f, nil
}

// check makes sure every plane is large enough for the C code that reads or
// writes it: a short slice must become an error, never a stray write.
func (f *Frame) check() error {
	if f == nil {
		return errors.New("codec: nil frame")
	}
	if f.Width <= 0 || f.Height <= 0 {
		return fmt.Errorf("codec: frame size %dx%d out of range", f.Width, f.Height)
	}
	cw, ch := (f.Width+1)/2, (f.Height+1)/2
	type plane struct{ rowBytes, rows int }
	var planes []plane
	switch f.Format {
	case I420:
		planes = []plane{{f.Width, f.Height}, {cw, ch}, {cw, ch}}
	case NV12:
		planes = []plane{{f.Width, f.Height}, {2 * cw, ch}}
	default:
		return fmt.Errorf("codec: unknown frame format %v", f.Format)
	}
	for i, p := range planes {
		if f.Strides[i] < p.rowBytes {
			return fmt.Errorf("codec: %v plane %d stride %d below row size %d", f.Format, i, f.Strides[i], p.rowBytes)
		}
		if need := f.Strides[i]*(p.rows-1) + p.rowBytes; len(f.Planes[i]) < need {
			return fmt.Errorf("codec: %v plane %d has %d bytes, needs %d", f.Format, i, len(f.Planes[i]), need)
		}
	}
	return nil
}

// FromBGRA converts pixels stored B,G,R,A in memory (what X11/XShm capture
// delivers; libyuv calls this order "ARGB") into f. Alpha is ignored.
func (f *Frame) FromBGRA(src []byte, stride int) error {
	return f.fromRGB32(src, stride, false)
}

// FromRGBA converts an image.RGBA (bytes R,G,B,A; libyuv "ABGR") into f.
// The image must be f's size; alpha is ignored, so flatten first.
func (f *Frame) FromRGBA(img *image.RGBA) error {
	if img == nil {
		return errors.New("codec: nil image")
	}
	b := img.Bounds()
	if b.Dx() != f.Width || b.Dy() != f.Height {
		return fmt.Errorf("codec: image %dx%d does not match frame %dx%d", b.Dx(), b.Dy(), f.Width, f.Height)
	}
	return f.fromRGB32(img.Pix[img.PixOffset(b.Min.X, b.Min.Y):], img.Stride, true)
}

// FromI420 copies an I420 frame of the same size into f, as NV12 (libyuv
// interleaves the chroma planes) or I420. It is far cheaper than a second
// conversion from RGB: a hardware encoder's NV12 program and the I420 its
// renditions are scaled from come from one colour conversion.
func (f *Frame) FromI420(src *Frame) error {
	if err := f.check(); err != nil {
		return err
	}
	if err := src.check(); err != nil {
		return err
	}
	if src.Format != I420 || src.Width != f.Width || src.Height != f.Height {
		return fmt.Errorf("codec: cannot copy %v %dx%d into %v %dx%d", src.Format, src.Width, src.Height, f.Format, f.Width, f.Height)
	}
	sp := func(i int) *C.uint8_t { return (*C.uint8_t)(unsafe.Pointer(&src.Planes[i][0])) }
	ss := func(i int) C.int { return C.int(src.Strides[i]) }
	p := func(i int) *C.uint8_t { return (*C.uint8_t)(unsafe.Pointer(&f.Planes[i][0])) }
	st := func(i int) C.int { return C.int(f.Strides[i]) }
	w, h := C.int(f.Width), C.int(f.Height)
	var rc C.int
	if f.Format == NV12 {
		rc = C.I420ToNV12(sp(0), ss(0), sp(1), ss(1), sp(2), ss(2), p(0), st(0), p(1), st(1), w, h)
	} else {
		rc = C.I420Copy(sp(0), ss(0), sp(1), ss(1), sp(2), ss(2), p(0), st(0), p(1), st(1), p(2), st(2), w, h)
	}
	if rc != 0 {
		return fmt.Errorf("codec: libyuv copy from I420 to %v failed (%d)", f.Format, int(rc))
	}
	return nil
}

func (f *Frame) fromRGB32(src []byte, stride int, rgba bool) error {
	if err := f.check(); err != nil {
		return err
	}
	if stride < 4*f.Width {
		return fmt.Errorf("codec: source stride %d below row size %d", stride, 4*f.Width)
	}
	if need := stride*(f.Height-1) + 4*f.Width; len(src) < need {
		return fmt.Errorf("codec: source has %d bytes, %dx%d needs %d", len(src), f.Width, f.Height, need)
	}
	s := (*C.uint8_t)(unsafe.Pointer(&src[0]))
	p := func(i int) *C.uint8_t { return (*C.uint8_t)(unsafe.Pointer(&f.Planes[i][0])) }
	st := func(i int) C.int { return C.int(f.Strides[i]) }
	w, h := C.int(f.Width), C.int(f.Height)
	var rc C.int
	switch {
	case f.Format == I420 && rgba:
		rc = C.ABGRToI420(s, C.int(stride), p(0), st(0), p(1), st(1), p(2), st(2), w, h)
	case f.Format == I420:
		rc = C.ARGBToI420(s, C.int(stride), p(0), st(0), p(1), st(1), p(2), st(2), w, h)
	case rgba:
		rc = C.ABGRToNV12(s, C.int(stride), p(0), st(0), p(1), st(1), w, h)
	default:
		rc = C.ARGBToNV12(s, C.int(stride), p(0), st(0), p(1), st(1), w, h)
	}
	if rc != 0 {
		return fmt.Errorf("codec: libyuv conversion to %v failed (%d)", f.Format, int(rc))
	}
	return nil
}
