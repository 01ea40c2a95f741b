// Package decode reads a media file or a capture device through
// libavformat (libavdevice for devices) and decodes it with libavcodec, the
// FFmpeg family the encoder already links: pictures come out as RGBA,
// sound as 48 kHz float stereo. A Player paces the pictures against the
// compositor's frame clock and keeps the sound for the mixer.
//
// A file and a webcam share everything but the open: Open takes the
// input's URL, its format name and options.
package decode

// #cgo pkg-config: libavdevice libavformat libavcodec libswscale libswresample libavutil
// #include <stdlib.h>
// #include "decode.h"
import "C"

import (
	"errors"
	"fmt"
	"image"
	"runtime"
	"sort"
	"strings"
	"time"
	"unsafe"
)

// kind is what Reader.next decoded.
type kind int

const (
	end   kind = C.DEC_END
	video kind = C.DEC_VIDEO
	sound kind = C.DEC_AUDIO
)

// Input names what to open: a file path, or a device with its format.
type Input struct {
	URL string
	// Format is the input format ("v4l2"); empty probes a file.
	Format string
	// Options are the input format's options (e.g. video_size).
	Options map[string]string
}

// reader is one opened input. It is used by one goroutine at a time.
type reader struct {
	r   *C.dec_reader
	url string
}

func errBuf() (*C.char, C.int, func() string) {
	const n = 512
	buf := (*C.char)(C.calloc(n, 1))
	return buf, n, func() string { s := C.GoString(buf); C.free(unsafe.Pointer(buf)); return s }
}

// open opens in and its video decoder (and its sound's, when it has sound).
func open(in Input) (*reader, error) {
	url := C.CString(in.URL)
	defer C.free(unsafe.Pointer(url))
	var format *C.char
	if in.Format != "" {
		format = C.CString(in.Format)
		defer C.free(unsafe.Pointer(format))
	}
	keys := make([]string, 0, len(in.Options))
	for k := range in.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var opts []string
	for _, k := range keys {
		opts = append(opts, k+"="+in.Options[k])
	}
	copts := C.CString(strings.Join(opts, "\n"))
	defer C.free(unsafe.Pointer(copts))
	buf, n, msg := errBuf()
	r := C.dec_open(url, format, copts, buf, n)
	why := msg()
	if r == nil {
		if why == "" {
			why = "out of memory"
		}
		return nil, fmt.Errorf("%s: %s", in.URL, why)
	}
	return &reader{r: r, url: in.URL}, nil
}

// next decodes the next picture or block of sound.
func (r *reader) next() (kind, error) {
	buf, n, msg := errBuf()
	rc := C.dec_next(r.r, buf, n)
	why := msg()
	if rc < 0 {
		return end, fmt.Errorf("%s: %s", r.url, why)
	}
	return kind(rc), nil
}

// picture is the decoded picture's size, time from the input's start and
// duration (0: unknown).
func (r *reader) picture() (size image.Point, at, dur time.Duration) {
	var w, h C.int
	var t, d C.double
	C.dec_video_info(r.r, &w, &h, &t, &d)
	return image.Pt(int(w), int(h)), seconds(float64(t)), seconds(float64(d))
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// rgba converts the decoded picture into all of dst, scaling it.
func (r *reader) rgba(dst *image.RGBA) error {
	b := dst.Bounds()
	if b.Empty() {
		return errors.New("decode: empty picture")
	}
	var pin runtime.Pinner
	pin.Pin(&dst.Pix[0])
	defer pin.Unpin()
	p := (*C.uint8_t)(unsafe.Pointer(&dst.Pix[dst.PixOffset(b.Min.X, b.Min.Y)]))
	if rc := C.dec_video_rgba(r.r, p, C.int(dst.Stride), C.int(b.Dx()), C.int(b.Dy())); rc < 0 {
		return fmt.Errorf("%s: converting the picture failed", r.url)
	}
	return nil
}

func (r *reader) hasSound() bool { return C.dec_has_audio(r.r) != 0 }

// sound converts the decoded block of sound; the samples (interleaved
// stereo, 48 kHz) reuse buf, and at is when the block starts.
func (r *reader) sound(buf []float32) ([]float32, time.Duration) {
	room := int(C.dec_audio_room(r.r))
	if room <= 0 {
		return buf[:0], 0
	}
	if cap(buf) < 2*room {
		buf = make([]float32, 2*room)
	}
	buf = buf[:2*room]
	var pin runtime.Pinner
	pin.Pin(&buf[0])
	defer pin.Unpin()
	n := int(C.dec_audio_samples(r.r, (*C.float)(unsafe.Pointer(&buf[0])), C.int(room)))
	if n < 0 {
		n = 0
	}
	return buf[:2*n], seconds(float64(C.dec_audio_time(r.r)))
}

// rewind goes back to the input's start.
func (r *reader) rewind() error {
	buf, n, msg := errBuf()
	rc := C.dec_rewind(r.r, buf, n)
	why := msg()
	if rc < 0 {
		return fmt.Errorf("%s: %s", r.url, why)
	}
	return nil
}

func (r *reader) close() {
	C.dec_close(r.r)
	r.r = nil
}
