package encoder

import (
	"context"
	"time"

	"github.com/onair-studio/onair/internal/scene"
	"github.com/onair-studio/onair/stub/pb"
)

// Studio mode's preview is small and slow, and composed by a compositor of
// its own on its own goroutine, so it never takes a frame slot or a
// picture from the program.
const (
	previewWidth = 320
	previewFPS   = 5
)

// preview composes the preview scene until closed; Snapshot with preview
// set reads its latest frame.
type preview struct {
	scene  string
	layers []*pb.Layer
	comp   *scene.Compositor
	stop   context.CancelFunc
	done   chan struct{}
}

// previewFor starts the preview cfg asks for; nil when studio mode is off
// or the preview cannot compose (its error is logged by the caller).
func previewFor(cfg *pb.EncoderConfig) (*preview, error) {
	if cfg.GetPreviewScene() == "" || cfg.GetWidth() <= 0 || cfg.GetHeight() <= 0 {
		return nil, nil
	}
	w := previewWidth
	h := max(2, int(cfg.GetHeight())*w/int(cfg.GetWidth())/2*2)
	src := &pb.EncoderConfig{Source: cfg.GetSource(), Layers: cfg.GetPreviewLayers()}
	comp, err := scene.New(scene.Options{Width: w, Height: h, FPS: previewFPS, Layers: layers(src)})
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	p := &preview{scene: cfg.GetPreviewScene(), layers: cfg.GetPreviewLayers(), comp: comp, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		_ = comp.Run(ctx, func(scene.Frame, int64, time.Time) {}) // Snapshot reads the frame
	}()
	return p, nil
}

// shows reports whether the preview already shows what cfg asks for.
func (p *preview) shows(cfg *pb.EncoderConfig) bool {
	if p == nil {
		return cfg.GetPreviewScene() == ""
	}
	return p.scene == cfg.GetPreviewScene() && sameLayers(p.layers, cfg.GetPreviewLayers())
}

func (p *preview) close() {
	if p == nil {
		return
	}
	p.stop()
	<-p.done
	p.comp.Close()
}

// applyPreview starts, changes or stops the preview to match cfg. The
// caller holds s.mu.
func (s *Service) applyPreview(cfg *pb.EncoderConfig) {
	if s.preview.shows(cfg) {
		return
	}
	s.preview.close()
	p, err := previewFor(cfg)
	if err != nil {
		s.log.Error("studio mode preview did not start", "err", err)
	}
	s.preview = p
}
