package rtmpserver

import (
	"sync"

	"github.com/onair-studio/onair/internal/output/rtmpwire"
)

// RTMP message types the server relays.
const (
	typeAudio = 8
	typeVideo = 9
	typeData  = 18
)

// packet is one relayed message; its payload is shared by every player and
// never modified.
type packet struct {
	typeID  byte
	ts      uint32
	epoch   uint64 // publish session it came from
	payload []byte
	key     bool // video keyframe
	config  bool // sequence header or metadata: players must never miss it
}

// publisher is what feeds a stream: an RTMP connection or an SRT one.
type publisher interface {
	// kick ends the publisher's connection when another takes its place.
	kick()
	remoteAddr() string
}

// stream is one published path: its publisher, the players, and what a new
// player needs to start at once: metadata, sequence headers and the frames
// since the last keyframe (the GOP cache).
type stream struct {
	maxGOPBytes int

	mu        sync.Mutex
	publisher publisher
	epoch     uint64
	meta      *packet
	videoSeq  *packet
	audioSeq  *packet
	gop       []*packet
	gopBytes  int
	players   map[*player]struct{}
}

func newStream(maxGOPBytes int) *stream {
	return &stream{maxGOPBytes: maxGOPBytes, players: map[*player]struct{}{}}
}

// setPublisher makes h the publisher and returns the one it replaces, if any.
func (s *stream) setPublisher(h publisher) publisher {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.publisher
	s.publisher = h
	s.epoch++
	s.meta, s.videoSeq, s.audioSeq = nil, nil, nil
	s.clearGOP()
	return old
}

// unpublish forgets h's stream; players stay and wait for the next publisher.
func (s *stream) unpublish(h publisher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publisher != h {
		return
	}
	s.publisher = nil
	s.meta, s.videoSeq, s.audioSeq = nil, nil, nil
	s.clearGOP()
}

func (s *stream) publishing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publisher != nil
}

func (s *stream) clearGOP() {
	clear(s.gop)
	s.gop = s.gop[:0]
	s.gopBytes = 0
}

// write relays a message from publisher h to every player.
func (s *stream) write(h publisher, typeID byte, ts uint32, payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publisher != h {
		return
	}
	p := &packet{typeID: typeID, ts: ts, epoch: s.epoch, payload: payload}
	switch typeID {
	case typeVideo:
		key, seq := rtmpwire.VideoTag(payload)
		switch {
		case seq:
			p.config = true
			s.videoSeq = p
			s.clearGOP() // frames before it belong to the old configuration
		case key:
			p.key = true
			s.clearGOP()
			s.cache(p)
		case len(s.gop) > 0:
			s.cache(p)
		}
	case typeAudio:
		if rtmpwire.AudioSequenceHeader(payload) {
			p.config = true
			s.audioSeq = p
		} else if len(s.gop) > 0 {
			s.cache(p)
		}
	case typeData:
		p.config = true
		s.meta = p
	}
	for pl := range s.players {
		pl.enqueue(p)
	}
}

// cache appends to the GOP cache, giving up on a GOP that grows too big
// (a publisher that never sends keyframes).
func (s *stream) cache(p *packet) {
	s.gop = append(s.gop, p)
	s.gopBytes += len(p.payload)
	if s.gopBytes > s.maxGOPBytes {
		s.clearGOP()
	}
}

// addPlayer starts pl with what is cached, then live.
func (s *stream) addPlayer(pl *player) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range []*packet{s.meta, s.videoSeq, s.audioSeq} {
		if p != nil {
			pl.enqueue(p)
		}
	}
	for _, p := range s.gop {
		pl.enqueue(p)
	}
	s.players[pl] = struct{}{}
}

func (s *stream) removePlayer(pl *player) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.players, pl)
}

func (s *stream) playerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.players)
}
