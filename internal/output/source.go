package output

import (
	"log/slog"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/onair-studio/onair/internal/stream"
)

// sourceTracks is what NewSource said about the current source, kept for
// the next picture to carry to the writer goroutine. Every protocol's
// session uses it the same way.
type sourceTracks struct {
	mu       sync.Mutex
	newSrc   bool
	sps, pps []byte // parameter sets given with NewSource
	asc      []byte // the source's AudioSpecificConfig; nil: no sound
}

// set notes a new source: its timestamps start over with the next picture.
func (s *sourceTracks) set(t stream.Tracks, log *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newSrc = true
	s.sps, s.pps, s.asc = nil, nil, nil
	if sps, pps := t.SPS(), t.PPS(); sps != nil && pps != nil {
		s.sps, s.pps = clone(sps), clone(pps)
	}
	if t.Audio != nil {
		if asc, err := t.Audio.Marshal(); err == nil {
			s.asc = asc
		} else {
			log.Warn("unusable audio config: sending the picture alone", "err", err)
		}
	}
}

// audioConfig is the current source's AudioSpecificConfig, nil without sound.
func (s *sourceTracks) audioConfig() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asc
}

// mark makes u the first unit of a new source if one was announced, with
// the announced parameter sets when it has none of its own.
func (s *sourceTracks) mark(u *accessUnit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.newSrc {
		u.newSource = true
		if u.sps == nil {
			u.sps, u.pps = s.sps, s.pps
		}
		s.newSrc = false
	}
}

// videoUnit is a picture's queue entry: whether it is a keyframe and the
// parameter sets it carries (both or neither).
func videoUnit(au [][]byte, dts time.Duration) *accessUnit {
	u := &accessUnit{dts: dts, wall: time.Now()}
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeIDR:
			u.key = true
		case h264.NALUTypeSPS:
			u.sps = clone(n)
		case h264.NALUTypePPS:
			u.pps = clone(n)
		}
	}
	if u.sps == nil || u.pps == nil {
		u.sps, u.pps = nil, nil
	}
	return u
}
