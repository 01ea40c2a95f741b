package audio

import (
	"sync/atomic"
	"time"
)

// LayerSound is the sound of a scene layer (a media file): what plays at
// a wall-clock time. It reports false, with dst silent, when it has none.
type LayerSound interface {
	ReadSound(dst []float32, at time.Time) bool
}

// layerSource is the input "layer:NAME": the sound of the scene's layer
// NAME while it is on air, looked up for every block, so a scene switch
// or an edit changes what plays at once.
type layerSource struct {
	spec, name string
	find       func(name string) LayerSound
	clock      Clock
	live       atomic.Bool
}

func (s *layerSource) Read(dst []float32, pts time.Duration) {
	var src LayerSound
	if s.find != nil {
		src = s.find(s.name)
	}
	if src == nil {
		clear(dst)
	} else {
		src.ReadSound(dst, s.clock.At(pts))
	}
	s.live.Store(src != nil)
}

func (s *layerSource) Status() Status {
	if s.live.Load() {
		return Status{Live: true, Reason: "the sound of layer " + s.name}
	}
	return Status{Reason: "layer " + s.name + " is not on air, or has no sound"}
}

func (s *layerSource) Close() error   { return nil }
func (s *layerSource) String() string { return s.spec }
