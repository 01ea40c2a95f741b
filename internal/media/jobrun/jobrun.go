// Package jobrun does the media work of OnAir's jobs in one pass through
// libavformat, libavcodec and libswscale (the FFmpeg family the encoder
// uses): a remux copies the packets into a faststart MP4; a trim, transcode
// or vertical cut decodes the video, crops or scales it, and encodes it with
// x264 into one or more MP4s, copying the sound. It runs in the worker
// child, never in the master.
package jobrun

// #cgo pkg-config: libavformat libavcodec libswscale libavutil
// #include <stdlib.h>
// #include "jobrun.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"
)

// Output is one file a run writes. Width 0 copies the video as it is.
type Output struct {
	Path          string
	Width, Height int
	Kbps          int    // 0: x264's default quality
	Preset        string // x264 preset; empty: medium
}

// Spec is one run: an input, an optional cut, and its outputs (all copied
// or all encoded).
type Spec struct {
	Input      string
	Start, End float64 // seconds; End 0: to the end
	Vertical   bool    // crop a centred 9:16 picture first
	Threads    int     // per codec; 0: as many as each likes
	Outputs    []Output
}

// Info is what a probe reads from an input's header.
type Info struct {
	Duration      time.Duration
	Width, Height int
}

func init() {
	// The libraries' progress chatter is not for the studio's log; their
	// errors reach the job as its reason.
	C.jr_quiet()
}

// ErrCancelled says the run was cancelled; its outputs are incomplete.
var ErrCancelled = errors.New("cancelled")

// MaxOutputs is how many outputs one run writes at most.
const MaxOutputs = C.JR_MAX_OUT

// Probe reads path's duration and picture size.
func Probe(path string) (Info, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var dur C.int64_t
	var w, h C.int
	var msg [512]C.char
	if C.jr_probe(cpath, &dur, &w, &h, &msg[0], C.int(len(msg))) < 0 {
		return Info{}, errors.New(C.GoString(&msg[0]))
	}
	return Info{Duration: time.Duration(dur) * time.Microsecond, Width: int(w), Height: int(h)}, nil
}

// pollEvery is how often a run's position is read and its cancel checked.
const pollEvery = 100 * time.Millisecond

// Run does s, calling progress with the position reached and the length
// of the whole (0 when unknown) while it works. Cancelling ctx stops it
// within a packet and returns ErrCancelled.
func Run(ctx context.Context, s Spec, progress func(done, total time.Duration)) error {
	if len(s.Outputs) == 0 || len(s.Outputs) > MaxOutputs {
		return fmt.Errorf("%d outputs: from 1 to %d", len(s.Outputs), MaxOutputs)
	}
	// The job lives in C memory: the run reads cancel while Go sets it.
	j := (*C.jr_job)(C.calloc(1, C.sizeof_jr_job))
	defer C.free(unsafe.Pointer(j))
	var strs []*C.char
	cstr := func(s string) *C.char {
		c := C.CString(s)
		strs = append(strs, c)
		return c
	}
	defer func() {
		for _, c := range strs {
			C.free(unsafe.Pointer(c))
		}
	}()
	j.in = cstr(s.Input)
	j.start, j.end = C.double(s.Start), C.double(s.End)
	if s.Vertical {
		j.crop_vertical = 1
	}
	j.threads = C.int(s.Threads)
	j.n = C.int(len(s.Outputs))
	for i, o := range s.Outputs {
		out := &j.out[i]
		out.path = cstr(o.Path)
		out.width, out.height, out.kbps = C.int(o.Width), C.int(o.Height), C.int(o.Kbps)
		if len(o.Preset) >= len(out.preset) {
			return fmt.Errorf("preset %q is too long", o.Preset)
		}
		for k := 0; k < len(o.Preset); k++ {
			out.preset[k] = C.char(o.Preset[k])
		}
	}
	finished := make(chan C.int, 1)
	go func() { finished <- C.jr_run(j) }()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case ret := <-finished:
			switch {
			case ret == C.JR_CANCELLED:
				return ErrCancelled
			case ret != 0:
				return errors.New(C.GoString(&j.err[0]))
			}
			return nil
		case <-ctx.Done():
			j.cancel = 1
			ctx = context.Background() // seen; now wait for the run to end
		case <-tick.C:
			if progress != nil {
				progress(time.Duration(j.done_us)*time.Microsecond, time.Duration(j.total_us)*time.Microsecond)
			}
		}
	}
}
