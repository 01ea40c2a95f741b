package output

import (
	"fmt"
	"time"

	"github.com/onair-studio/onair/internal/stream"
)

// sender is one session to one destination, whatever its protocol. A
// Destination starts one, feeds it, and replaces it when it fails; the
// queue, timeline, retry schedule and masking are the same for all.
type sender interface {
	NewSource(stream.Tracks)
	WriteAccessUnit(au [][]byte, pts, dts time.Duration)
	WriteAudio(aac []byte, pts time.Duration)
	Stats() Stats
	Live() <-chan struct{}
	Done() <-chan struct{}
	Close() error
}

// newSender starts a session to cfg.URL with the protocol its scheme names.
func newSender(cfg Config) (sender, error) {
	switch Protocol(cfg.URL) {
	case "srt":
		p, err := NewSRTPublisher(cfg)
		if err != nil {
			return nil, err
		}
		return p, nil
	case "whip":
		p, err := NewWHIPPublisher(cfg)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	p, err := NewPublisher(cfg)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Link is what a protocol knows about its connection, beside the counters
// every destination has. Zero values are unknown.
type Link struct {
	State         string        // WHIP: the WebRTC connection's state
	RTT           time.Duration // SRT: smoothed round-trip time
	Lost          uint64        // SRT: packets the receiver reported lost
	Retransmitted uint64        // SRT: packets sent again
	BitrateKbps   float64       // SRT, WHIP: what is being sent now
}

// String is the link's figures as status shows them; "" when none.
func (l Link) String() string {
	var s string
	if l.State != "" {
		s += " " + l.State
	}
	if l.RTT > 0 || l.Lost > 0 || l.Retransmitted > 0 {
		s += fmt.Sprintf(" rtt %.1f ms, lost %d, retransmitted %d", float64(l.RTT.Microseconds())/1000, l.Lost, l.Retransmitted)
	}
	if l.BitrateKbps > 0 {
		s += fmt.Sprintf(" %.0f kbit/s", l.BitrateKbps)
	}
	if len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return s
}
