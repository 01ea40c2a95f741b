// Package output sends the program to live servers: one publisher per
// destination (RTMP/RTMPS or SRT), each with its own connection,
// queue and timeline.
package output

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"os/exec"
	"time"

	"github.com/onair-studio/onair/internal/output/rtmpwire"
	"github.com/onair-studio/onair/internal/timeline"
)

// Config describes one destination.
type Config struct {
	// URL is rtmp://host[:port]/app/key or rtmps://host[:port]/app/key.
	URL string
	// TimelineStart is the RTMP timestamp of the first frame. A publisher that
	// replaces a failed one can continue the old one's Stats().Timeline.
	TimelineStart time.Duration
	// Timeout bounds connecting: TCP, TLS, RTMP handshake, connect,
	// createStream and publish together (default 5 s).
	Timeout time.Duration
	// WriteTimeout fails the session when a socket write stalls this long
	// (default 10 s).
	WriteTimeout time.Duration
	// QueueSize is how many access units may wait for the connection before
	// the queue drops to the next keyframe (default 256).
	QueueSize int
	// MaxQueueAge is how long an access unit may wait before the queue drops
	// to the next keyframe (default 3 s): a stalled server shows here long
	// before a frame count fills.
	MaxQueueAge time.Duration
	// RootCAs verifies rtmps servers; nil means the system roots.
	RootCAs *x509.CertPool
	// OnKeyframeNeeded is called (from the publisher's goroutine, at most
	// once a second) when frames are being dropped until a keyframe, so the
	// encoder can send one now.
	OnKeyframeNeeded func()
	// OpusCommand starts the process that turns the program's AAC into
	// Opus for WHIP (the master links no codec); nil: WHIP sends no sound.
	OpusCommand func() *exec.Cmd
	Log         *slog.Logger
}

// State is where a publisher is in its life.
type State int

const (
	StateConnecting State = iota
	StateLive
	StateFailed // Err says why; make a new Publisher to retry
	StateClosed
)

func (s State) String() string {
	return [...]string{"connecting", "live", "failed", "closed"}[s]
}

// Stats is a snapshot of a publisher.
type Stats struct {
	State         State
	Err           error
	FramesSent    uint64
	BytesSent     uint64 // FLV video payload bytes
	FramesDropped uint64 // queue overflow, waiting for a keyframe, unusable frames
	// AudioFramesSent counts AAC frames (FramesSent counts pictures).
	AudioFramesSent uint64
	Timeline        time.Duration
	Link            Link // the protocol's own figures (SRT)
}

// Publisher publishes one H.264 stream, and its AAC sound if it has any, to
// one RTMP destination. One goroutine
// owns the connection; the caller hands it access units through a bounded
// queue and is never blocked. It connects once: after a failure, Close it
// and make a new one.
type Publisher struct {
	publisherBase
	dest destination

	// owned by the publisher goroutine
	tl               *timeline.Timeline
	sps, pps         []byte // parameter sets for the next keyframe
	sentSPS, sentPPS []byte // what the last sequence header carried
	ready            bool   // a sequence header went out for this source
	sentASC          []byte // what the last AAC sequence header carried
	lastAudio        int64  // last audio timestamp sent
	warnedParams     bool
}

// NewPublisher starts publishing to cfg.URL in the background. It returns an
// error at once only for a URL that cannot work (wrong scheme, no key).
func NewPublisher(cfg Config) (*Publisher, error) {
	d, err := parseDestination(cfg.URL)
	if err != nil {
		return nil, err
	}
	p := &Publisher{dest: d, tl: timeline.New(cfg.TimelineStart, 1000)} // RTMP counts milliseconds
	p.init(cfg, 5*time.Second, d.masked)
	go p.run()
	return p, nil
}

// URL is the destination with its stream key masked.
func (p *Publisher) URL() string { return p.dest.masked }

// WriteAudio queues one AAC access unit with its PTS on the source's clock
// (the same clock as the pictures'). It copies what it keeps and never
// blocks. Calls must come from the goroutine that writes access units.
func (p *Publisher) WriteAudio(aac []byte, pts time.Duration) {
	if u := p.audioUnit(aac, pts); u != nil {
		u.tag = rtmpwire.AACFrame(aac)
		p.q.push(u)
	}
}

// WriteAccessUnit queues one access unit: NAL units without start codes, as
// an RTP/H.264 decoder yields them, with its PTS and DTS. It copies what it
// keeps and never blocks. Calls must come from one goroutine at a time.
func (p *Publisher) WriteAccessUnit(au [][]byte, pts, dts time.Duration) {
	if p.stopped() {
		return
	}
	u := videoUnit(au, dts)
	u.tag = rtmpwire.AVCFrame(au, u.key, pts-dts)
	p.pushVideo(u)
}

// WaitLive waits until the stream is live (nil), the publisher stopped (its
// error), or ctx ends.
func (p *Publisher) WaitLive(ctx context.Context) error {
	select {
	case <-p.done:
	case <-p.live:
		select {
		case <-p.done:
		default:
			return nil
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	_, err := p.State()
	if err == nil {
		err = errors.New("publisher closed")
	}
	return err
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
