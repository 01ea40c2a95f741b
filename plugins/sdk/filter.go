package sdk

import (
	"context"
	"fmt"
	"image"
	"slices"

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

// checkFormats refuses a filter's format list that names no known format.
func checkFormats(i Info) error {
	if i.Kind != KindFilter {
		return nil
	}
	if len(i.Formats) == 0 {
		return fmt.Errorf("a filter declares no formats (want %q and/or %q)", FormatRGBA, FormatI420)
	}
	for _, f := range i.Formats {
		if f != FormatRGBA && f != FormatI420 {
			return fmt.Errorf("format %q (want %q or %q)", f, FormatRGBA, FormatI420)
		}
	}
	return nil
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
	fp, ok := s.p.(Filter)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "not a filter plugin")
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
		Formats: slices.Clone(s.p.Info().Formats),
		Apply: func(f filter.Frame) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			return fp.Filter(ctx, frameOf(f))
		},
	}
	go srv.Serve(ctx, ln)
	return &pb.OpenFilterReply{}, nil
}
