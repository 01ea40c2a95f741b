package encoder

import (
	"context"
	"fmt"
	"image"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/limits"
	"github.com/onair-studio/onair/internal/scene"
	"github.com/onair-studio/onair/stub/pb"
)

// SetOverlay keeps a plugin's overlay (or forgets it) and puts it on the
// running scene. Overlays outlive pipeline restarts within this process; a
// new encoder process gets them from the master again.
func (s *Service) SetOverlay(_ context.Context, o *pb.Overlay) (*pb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.GetRemoved() {
		delete(s.overlays, o.GetId())
		if s.pipe != nil {
			s.pipe.comp.RemoveOverlay(o.GetId())
		}
		return &pb.Empty{}, nil
	}
	img, err := overlayImage(o)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.overlays[o.GetId()] = o
	if s.pipe != nil {
		if err := applyOverlay(s.pipe.comp, o.GetId(), o, img); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	return &pb.Empty{}, nil
}

// overlayImage checks an overlay as the compositor will, so a refused one is
// never kept for the next pipeline, and wraps its pixels without a copy (the
// compositor copies what it keeps).
func overlayImage(o *pb.Overlay) (*image.RGBA, error) {
	w, h := int(o.GetWidth()), int(o.GetHeight())
	if !limits.PictureSizeOK(w, h) || len(o.GetRgba()) != w*h*4 {
		return nil, fmt.Errorf("overlay %s: %dx%d with %d bytes of pixels", o.GetId(), w, h, len(o.GetRgba()))
	}
	img := &image.RGBA{Pix: o.GetRgba(), Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	if err := scene.CheckOverlay(o.GetId(), img, o.GetOpacity()); err != nil {
		return nil, err
	}
	return img, nil
}

func applyOverlay(comp *scene.Compositor, id string, o *pb.Overlay, img *image.RGBA) error {
	return comp.SetOverlay(id, img, int(o.GetX()), int(o.GetY()), o.GetOpacity())
}

// applyOverlays puts every kept overlay on a new pipeline's scene.
func (s *Service) applyOverlays(p *pipeline) {
	for id, o := range s.overlays {
		img, err := overlayImage(o)
		if err == nil {
			err = applyOverlay(p.comp, id, o, img)
		}
		if err != nil {
			s.log.Warn("overlay not shown", "id", id, "err", err)
		}
	}
}
