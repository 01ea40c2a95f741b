package sdk

import (
	"context"
	"fmt"
	"image"
	"slices"
	"unsafe"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/filter"
	"github.com/onair-studio/onair/stub/pb"
)

// KindFilter plugins change frames: one layer's, or the whole program's.
// They also receive events.
const KindFilter = "filter"

// Pixel formats a filter declares in Info.Formats, preferred first.
const (
	// FormatRGBA frames are premultiplied R,G,B,A, as image.RGBA's.
	FormatRGBA = filter.FormatRGBA
	// FormatI420 frames are planar Y, U, V (4:2:0), as image.YCbCr's.
	FormatI420 = filter.FormatI420
	// FormatAudio is what a sound filter (AudioFilter) declares, alone:
	// 48 kHz stereo float32 blocks.
	FormatAudio = filter.FormatF32
)

// The sound an AudioFilter gets: the mixer's block, at the mixer's rate.
const (
	AudioRate     = 48000 // samples per second, per channel
	AudioChannels = 2     // left, right, interleaved
	AudioBlock    = 1024  // samples per channel in one block (21.3 ms)
)

// Filter is what a filter plugin implements besides Plugin (Render is not
// called for filters; Base's will do).
type Filter interface {
	Plugin
	// Filter changes f's pixels in place. It runs for every frame, at the
	// output's frame rate, and has a deadline of a third of the frame
	// interval (11 ms at 30 fps): a frame it misses airs unfiltered and
	// its late result is thrown away. An error also airs the frame
	// unfiltered. Filter and the other methods never overlap.
	Filter(ctx context.Context, f *FilterFrame) error
}

// FilterFrame is one frame to change. Its pixels live in shared memory
// and are valid only until Filter returns: copy what you keep.
type FilterFrame struct {
	// RGBA is set for FormatRGBA frames (premultiplied alpha: a pixel's
	// colour bytes never exceed its alpha). A filter that makes pixels
	// transparent shows the layers below through them.
	RGBA *image.RGBA
	// YCbCr is set for FormatI420 frames.
	YCbCr *image.YCbCr
	// Seq rises with every frame.
	Seq uint64
}

// AudioFilter is what a sound filter plugin implements besides Plugin: it
// declares Formats: []string{FormatAudio} and is attached to a sound
// source (the microphone) rather than a layer.
type AudioFilter interface {
	Plugin
	// FilterAudio changes a block's samples in place. It runs for every
	// block of its source, before the mixer's volume, about 47 times a
	// second, with a deadline of a third of the block (7.1 ms): a block it
	// misses plays unfiltered and its late result is thrown away, and so
	// does a block it returns an error for. The sound never stops.
	// FilterAudio and the other methods never overlap.
	FilterAudio(ctx context.Context, a *AudioFrame) error
}

// AudioFrame is one block of sound to change. Its samples live in shared
// memory and are valid only until FilterAudio returns.
type AudioFrame struct {
	// Samples are interleaved (left, right, left, …), AudioBlock per
	// channel, nominally within -1..1.
	Samples  []float32
	Channels int // AudioChannels
	Rate     int // AudioRate
	// Seq rises with every block; consecutive blocks are consecutive
	// sound, so a filter may carry state (an envelope) from one to the
	// next.
	Seq uint64
}

// checkFormats refuses a filter's format list that names no known format,
// or mixes sound with pictures.
func checkFormats(i Info) error {
	if i.Kind != KindFilter {
		return nil
	}
	if len(i.Formats) == 0 {
		return fmt.Errorf("a filter declares no formats (want %q and/or %q, or %q alone)", FormatRGBA, FormatI420, FormatAudio)
	}
	if slices.Contains(i.Formats, FormatAudio) {
		if len(i.Formats) != 1 {
			return fmt.Errorf("formats %v: a sound filter declares %q alone", i.Formats, FormatAudio)
		}
		return nil
	}
	for _, f := range i.Formats {
		if f != FormatRGBA && f != FormatI420 {
			return fmt.Errorf("format %q (want %q, %q or %q)", f, FormatRGBA, FormatI420, FormatAudio)
		}
	}
	return nil
}

// audioOf wraps a ring slot of sound as the block a filter sees.
func audioOf(f filter.Frame) *AudioFrame {
	s := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(f.Pix))), len(f.Pix)/4)
	return &AudioFrame{Samples: s, Channels: f.Layout.Height, Rate: AudioRate, Seq: f.Seq}
}

// frameOf wraps a ring slot as the frame a filter sees.
func frameOf(f filter.Frame) *FilterFrame {
	l := f.Layout
	r := image.Rect(0, 0, l.Width, l.Height)
	if l.Format == FormatI420 {
		cw, ch := (l.Width+1)/2, (l.Height+1)/2
		y, c := l.Width*l.Height, cw*ch
		return &FilterFrame{Seq: f.Seq, YCbCr: &image.YCbCr{Y: f.Pix[:y], Cb: f.Pix[y : y+c], Cr: f.Pix[y+c : y+2*c],
			YStride: l.Width, CStride: cw, SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: r}}
	}
	return &FilterFrame{Seq: f.Seq, RGBA: &image.RGBA{Pix: f.Pix, Stride: 4 * l.Width, Rect: r}}
}

func (s *server) OpenFilter(_ context.Context, r *pb.OpenFilterRequest) (*pb.OpenFilterReply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	formats := slices.Clone(s.p.Info().Formats)
	var apply func(context.Context, filter.Frame) error
	if fp, ok := s.p.(AudioFilter); ok && slices.Equal(formats, []string{FormatAudio}) {
		apply = func(ctx context.Context, f filter.Frame) error { return fp.FilterAudio(ctx, audioOf(f)) }
	} else if fp, ok := s.p.(Filter); ok && !slices.Contains(formats, FormatAudio) {
		apply = func(ctx context.Context, f filter.Frame) error { return fp.Filter(ctx, frameOf(f)) }
	} else {
		return nil, status.Error(codes.Unimplemented, "not a filter plugin of the formats it declares")
	}
	if s.stopFilter != nil { // a new socket replaces the old one
		s.stopFilter()
		s.stopFilter = nil
	}
	ln, err := filter.Listen(r.GetSocket())
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopFilter = cancel
	srv := filter.Server{
		Formats: formats,
		Apply: func(f filter.Frame) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			return apply(ctx, f)
		},
	}
	go srv.Serve(ctx, ln)
	return &pb.OpenFilterReply{}, nil
}
