package audio

// #cgo pkg-config: libswresample libavutil
// #include <stdlib.h>
// #include <libswresample/swresample.h>
// #include <libavutil/channel_layout.h>
// #include <libavutil/opt.h>
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"
)

// Drift compensation, in libswresample's terms: when the samples are more
// than minComp seconds away from where their timestamps put them, a stretch
// or squeeze of at most maxSoftComp spread over compDuration seconds brings
// them back, so a device's clock error (typically well under 0.1%) never
// adds up to more than minComp, a fraction of a video frame. minComp sits
// above the jitter of the stamps, so a steady device is never stretched
// (a stretch bends the pitch by up to maxSoftComp, 3.5 cents). A jump
// beyond minHardComp (a stall, a lost chunk) is filled with silence or
// dropped at once.
const (
	minComp      = 0.02
	maxSoftComp  = 0.002
	compDuration = 1.0
	minHardComp  = 0.1
)

// resampler converts a device's interleaved s16 samples to 48 kHz float
// stereo, locked to the capture clock: each chunk comes with the capture
// time of its first sample, and the output's sample count follows those
// times, not the device's own clock.
type resampler struct {
	swr      *C.SwrContext
	inRate   int
	inCh     int
	out      []float32
	produced int64 // output samples so far
}

// newResampler converts from inRate Hz, inChannels interleaved s16.
func newResampler(inRate, inChannels int) (*resampler, error) {
	if inRate <= 0 || inChannels <= 0 || inChannels > 8 {
		return nil, fmt.Errorf("audio: cannot resample %d Hz, %d channels", inRate, inChannels)
	}
	var inLayout, outLayout C.AVChannelLayout
	C.av_channel_layout_default(&inLayout, C.int(inChannels))
	C.av_channel_layout_default(&outLayout, Channels)
	var swr *C.SwrContext
	if rc := C.swr_alloc_set_opts2(&swr, &outLayout, C.AV_SAMPLE_FMT_FLT, SampleRate,
		&inLayout, C.AV_SAMPLE_FMT_S16, C.int(inRate), 0, nil); rc < 0 {
		return nil, averr("swr_alloc_set_opts2", rc)
	}
	r := &resampler{swr: swr, inRate: inRate, inCh: inChannels}
	opt := func(name string, v float64) {
		c := C.CString(name)
		defer C.free(unsafe.Pointer(c))
		C.av_opt_set_double(unsafe.Pointer(swr), c, C.double(v), 0)
	}
	opt("min_comp", minComp)
	opt("max_soft_comp", maxSoftComp)
	opt("comp_duration", compDuration)
	opt("min_hard_comp", minHardComp)
	// Resample even at equal rates, so a stretch needs no re-init.
	flags := C.CString("flags")
	C.av_opt_set_int(unsafe.Pointer(swr), flags, C.SWR_FLAG_RESAMPLE, 0)
	C.free(unsafe.Pointer(flags))
	if rc := C.swr_init(swr); rc < 0 {
		C.swr_free(&r.swr)
		return nil, averr("swr_init", rc)
	}
	return r, nil
}

// convert takes frames of interleaved s16 whose first sample was captured
// at capture-clock time pts, and returns 48 kHz stereo samples with the
// index (see SampleAt) of the first. The slice is reused by the next call.
func (r *resampler) convert(in []int16, pts time.Duration) ([]float32, int64, error) {
	if r.swr == nil {
		return nil, 0, errors.New("audio: resampler is closed")
	}
	frames := len(in) / r.inCh
	// swr timestamps count 1/(inRate*48000) s.
	unit := int64(r.inRate) * SampleRate
	swrPTS := int64(pts/time.Second)*unit + int64(pts%time.Second)*unit/int64(time.Second)
	outPTS := int64(C.swr_next_pts(r.swr, C.int64_t(swrPTS)))
	at := outPTS / int64(r.inRate)
	room := int(C.swr_get_out_samples(r.swr, C.int(frames)))
	if cap(r.out) < Channels*room {
		r.out = make([]float32, Channels*room)
	}
	r.out = r.out[:Channels*room]
	// swr takes arrays of plane pointers; the planes stay pinned while
	// it holds them.
	var pin runtime.Pinner
	defer pin.Unpin()
	var inp *C.uint8_t
	if frames > 0 {
		pin.Pin(&in[0])
		inp = (*C.uint8_t)(unsafe.Pointer(&in[0]))
	}
	pin.Pin(&r.out[0])
	outp := (*C.uint8_t)(unsafe.Pointer(&r.out[0]))
	n := C.swr_convert(r.swr, &outp, C.int(room), &inp, C.int(frames))
	if n < 0 {
		return nil, 0, averr("swr_convert", n)
	}
	r.produced += int64(n)
	return r.out[:Channels*int(n)], at, nil
}

// delay is how many output samples are inside the resampler's filter.
func (r *resampler) delay() int64 { return int64(C.swr_get_delay(r.swr, SampleRate)) }

func (r *resampler) close() { C.swr_free(&r.swr) }
