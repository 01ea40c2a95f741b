package output

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-studio/onair/internal/stream"
)

// publisherBase is what every protocol's publisher shares: the bounded
// queue the caller writes into without ever being blocked, the source's
// tracks, the state and counters status shows, and its lifetime. Each
// protocol's own goroutine takes the queued units and sends them its way.
type publisherBase struct {
	cfg    Config
	log    *slog.Logger
	q      *queue
	ctx    context.Context
	cancel context.CancelFunc
	live   chan struct{}
	done   chan struct{}
	src    sourceTracks

	mu    sync.Mutex // guards state and err, and each protocol's own link fields
	state State
	err   error

	sent, bytes, dropped, sounds atomic.Uint64
	timeline                     atomic.Int64

	lastKeyRequest time.Time // the publisher goroutine's own
}

// init fills cfg's unset fields (timeout is the protocol's own default for
// Timeout) and readies the base for the destination shown as masked.
func (b *publisherBase) init(cfg Config, timeout time.Duration, masked string) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = timeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.MaxQueueAge <= 0 {
		cfg.MaxQueueAge = 3 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	b.cfg, b.log = cfg, cfg.Log.With("output", masked)
	b.q = newQueue(cfg.QueueSize, cfg.MaxQueueAge)
	b.live, b.done = make(chan struct{}), make(chan struct{})
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.timeline.Store(int64(cfg.TimelineStart))
}

// NewSource says a new source begins with the next access unit: its
// timestamps start over, and its tracks describe it (SPS/PPS nil if they
// come in-band; no audio config if it has no sound).
func (b *publisherBase) NewSource(t stream.Tracks) { b.src.set(t, b.log) }

// stopped reports whether the publisher has ended, so writes are dropped.
func (b *publisherBase) stopped() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// pushVideo queues a picture made by videoUnit, after marking where its
// source begins.
func (b *publisherBase) pushVideo(u *accessUnit) {
	b.src.mark(u)
	b.q.push(u)
}

// audioUnit is one AAC frame as a queued unit with its PTS on the
// pictures' clock; nil when the publisher has ended or the source has no
// sound.
func (b *publisherBase) audioUnit(aac []byte, pts time.Duration) *accessUnit {
	if b.stopped() || len(aac) == 0 {
		return nil
	}
	asc := b.src.audioConfig()
	if asc == nil {
		return nil
	}
	return &accessUnit{audio: true, asc: asc, dts: pts, wall: time.Now()}
}

// State returns the current state and, when failed, why.
func (b *publisherBase) State() (State, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state, b.err
}

// Stats returns counters and state; safe from any goroutine.
func (b *publisherBase) Stats() Stats {
	st, err := b.State()
	return Stats{
		State: st, Err: err,
		FramesSent: b.sent.Load(), BytesSent: b.bytes.Load(),
		FramesDropped:   b.dropped.Load() + b.q.droppedCount(),
		AudioFramesSent: b.sounds.Load(),
		Timeline:        time.Duration(b.timeline.Load()),
	}
}

// Live is closed once the server accepted the stream.
func (b *publisherBase) Live() <-chan struct{} { return b.live }

// Done is closed when the publisher stopped (failed or closed).
func (b *publisherBase) Done() <-chan struct{} { return b.done }

// Close ends the session, letting what is queued out first (within the
// protocol's own bound), and waits for the publisher's goroutine.
func (b *publisherBase) Close() error {
	b.cancel()
	<-b.done
	return nil
}

// sendQueued hands what the queue holds to send, in order, after asking
// the encoder for a keyframe when the queue dropped frames to wait for
// one. It returns send's error, or nil when the publisher is closing. On
// the publisher's goroutine.
func (b *publisherBase) sendQueued(send func(*accessUnit) error) error {
	units, needKey := b.q.take()
	if needKey {
		b.keyframeNeeded()
	}
	for _, u := range units {
		if err := send(u); err != nil {
			if b.ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

// keyframeNeeded asks the encoder for a keyframe, at most once a second.
func (b *publisherBase) keyframeNeeded() {
	if b.cfg.OnKeyframeNeeded == nil || time.Since(b.lastKeyRequest) < time.Second {
		return
	}
	b.lastKeyRequest = time.Now()
	b.cfg.OnKeyframeNeeded()
}

// drop counts a picture that cannot be sent and asks for a keyframe.
func (b *publisherBase) drop() {
	b.dropped.Add(1)
	b.keyframeNeeded()
}

func (b *publisherBase) setState(s State, err error) {
	b.mu.Lock()
	b.state, b.err = s, err
	b.mu.Unlock()
}

// rawPublisher is a publisherBase that queues pictures and sound as they
// come (NAL units, raw AAC), for protocols that packetize at send time.
type rawPublisher struct{ publisherBase }

// WriteAccessUnit queues one picture (NAL units without start codes). It
// copies what it keeps and never blocks.
func (p *rawPublisher) WriteAccessUnit(au [][]byte, pts, dts time.Duration) {
	if p.stopped() {
		return
	}
	u := videoUnit(au, dts)
	u.nalus = cloneNALUs(au)
	p.pushVideo(u)
}

// WriteAudio queues one AAC frame with its PTS on the pictures' clock.
func (p *rawPublisher) WriteAudio(aac []byte, pts time.Duration) {
	if u := p.audioUnit(aac, pts); u != nil {
		u.aac = clone(aac)
		p.q.push(u)
	}
}
