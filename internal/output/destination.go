package output

import (
	"context"
	"crypto/x509"
	"log/slog"
	"math/rand/v2"
	"os/exec"
	"sync"
	"time"

	"github.com/onair-studio/onair/internal/stream"
)

// DestinationConfig describes one live server to keep fed.
type DestinationConfig struct {
	URL string
	// FirstRetry is the wait after the first failure; each further failure
	// doubles it up to MaxRetry, with jitter so that destinations that failed
	// together do not retry in step. A session that stayed live for MaxRetry
	// starts over at FirstRetry.
	FirstRetry, MaxRetry time.Duration
	// OnKeyframeNeeded asks the encoder for an IDR, so a (re)connecting
	// session starts at once instead of waiting for the next keyframe.
	OnKeyframeNeeded func()
	// OnState, if set, hears every change of state, from the destination's
	// own goroutine; it must not block.
	OnState func(s DestinationState, err error)
	RootCAs *x509.CertPool
	// OpusCommand starts a transcoder for a WHIP destination's sound
	// (Config.OpusCommand).
	OpusCommand func() *exec.Cmd
	Log         *slog.Logger
}

// DestinationState is what a streamer sees for one destination.
type DestinationState string

const (
	DestConnecting DestinationState = "connecting"
	DestLive       DestinationState = "live"
	DestRetrying   DestinationState = "retrying"
	// DestFailed is for a destination that cannot work as written (a wrong
	// scheme, no stream key): retrying would not help.
	DestFailed  DestinationState = "failed"
	DestStopped DestinationState = "stopped"
)

// DestinationStatus is one destination's state and counters.
type DestinationStatus struct {
	URL           string // stream key masked
	State         DestinationState
	Err           error // the last error, kept while retrying
	NextAttempt   time.Time
	Attempts      int
	FramesSent    uint64
	BytesSent     uint64
	FramesDropped uint64
	// AudioFramesSent counts AAC frames (FramesSent counts pictures).
	AudioFramesSent uint64
	Link            Link // the live session's protocol figures
}

// Destination keeps one live server fed: it runs a Publisher, and when that
// fails it waits and starts a new one, continuing the timeline, on its own
// schedule, without touching any other destination.
type Destination struct {
	cfg    DestinationConfig
	log    *slog.Logger
	masked string
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	now    chan struct{}

	mu                sync.Mutex
	pub               sender
	tracks            *stream.Tracks // the current source's, for new sessions
	state             DestinationState
	err               error
	next              time.Time
	attempts          int
	sent, bytes, drop uint64 // from sessions that ended
	sounds            uint64
}

// StartDestination starts publishing to cfg.URL at once.
func StartDestination(cfg DestinationConfig) *Destination {
	if cfg.FirstRetry <= 0 {
		cfg.FirstRetry = time.Second
	}
	if cfg.MaxRetry <= 0 {
		cfg.MaxRetry = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	d := &Destination{
		cfg: cfg, masked: MaskURL(cfg.URL), done: make(chan struct{}), now: make(chan struct{}, 1),
		state: DestConnecting,
	}
	d.log = cfg.Log.With("destination", d.masked)
	d.ctx, d.cancel = context.WithCancel(context.Background())
	go d.run()
	return d
}

func (d *Destination) run() {
	defer close(d.done)
	retry := backoff{first: d.cfg.FirstRetry, most: d.cfg.MaxRetry}
	var timeline time.Duration
	for {
		d.mu.Lock()
		d.attempts++
		d.state, d.next = DestConnecting, time.Time{}
		d.mu.Unlock()
		d.notify(DestConnecting, nil)
		pub, err := newSender(Config{
			URL: d.cfg.URL, TimelineStart: timeline, RootCAs: d.cfg.RootCAs,
			OnKeyframeNeeded: d.cfg.OnKeyframeNeeded, OpusCommand: d.cfg.OpusCommand, Log: d.cfg.Log,
		})
		if err != nil {
			d.log.Error("destination cannot work", "err", err)
			d.setState(DestFailed, err)
			return
		}
		d.mu.Lock()
		d.pub = pub
		if d.tracks != nil {
			pub.NewSource(*d.tracks)
		}
		d.mu.Unlock()
		d.keyframe()

		liveAt := d.watch(pub)
		st := pub.Stats()
		d.mu.Lock()
		d.pub = nil
		d.sent, d.bytes, d.drop = d.sent+st.FramesSent, d.bytes+st.BytesSent, d.drop+st.FramesDropped
		d.sounds += st.AudioFramesSent
		d.mu.Unlock()
		pub.Close()
		if d.ctx.Err() != nil {
			d.setState(DestStopped, nil)
			return
		}
		var liveFor time.Duration
		if !liveAt.IsZero() {
			liveFor = time.Since(liveAt)
		}
		delay := retry.next(liveFor, rand.Float64())
		failedAt := time.Now()
		d.mu.Lock()
		d.state, d.err, d.next = DestRetrying, st.Err, failedAt.Add(delay)
		d.mu.Unlock()
		d.notify(DestRetrying, st.Err)
		d.log.Warn("destination failed; retrying", "err", st.Err, "in", delay.Round(time.Millisecond))
		t := time.NewTimer(delay)
		select {
		case <-d.ctx.Done():
			t.Stop()
			d.setState(DestStopped, nil)
			return
		case <-d.now:
			t.Stop()
		case <-t.C:
		}
		// The new session's timeline carries on from the old one's, plus
		// the time off air, so viewers' players see no jump back.
		timeline = st.Timeline + time.Since(failedAt)
	}
}

// backoff is a destination's retry schedule: first, doubling up to most,
// and back to first after a session that stayed live for most (it was not
// failing over and over).
type backoff struct {
	first, most time.Duration
	wait        time.Duration // the next delay before jitter; 0 means first
}

// next is the delay before the next attempt, after a session that was live
// for liveFor (0 if it never went live). jitter in [0, 1) spreads it over
// 75% to 125% of the backoff, so destinations that failed together do not
// retry together.
func (b *backoff) next(liveFor time.Duration, jitter float64) time.Duration {
	if b.wait == 0 || liveFor >= b.most {
		b.wait = b.first
	}
	delay := time.Duration(float64(b.wait) * (0.75 + jitter/2))
	b.wait = min(b.wait*2, b.most)
	return delay
}

// watch waits until pub stops or the destination is closed, noting when it
// went live. It returns the time it went live (zero if it never did).
func (d *Destination) watch(pub sender) time.Time {
	var liveAt time.Time
	live := pub.Live()
	for {
		select {
		case <-live:
			liveAt, live = time.Now(), nil
			d.setState(DestLive, nil)
			d.log.Info("destination live")
		case <-pub.Done():
			return liveAt
		case <-d.ctx.Done():
			return liveAt
		}
	}
}

func (d *Destination) keyframe() {
	if d.cfg.OnKeyframeNeeded != nil {
		d.cfg.OnKeyframeNeeded()
	}
}

func (d *Destination) setState(s DestinationState, err error) {
	d.mu.Lock()
	d.state = s
	if err != nil || s == DestLive {
		d.err = err
	}
	d.mu.Unlock()
	d.notify(s, err)
}

func (d *Destination) notify(s DestinationState, err error) {
	if d.cfg.OnState != nil {
		d.cfg.OnState(s, err)
	}
}

// NewSource says the encoder restarted: timestamps start over and tracks
// describe the new stream.
func (d *Destination) NewSource(t stream.Tracks) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tracks = &t
	if d.pub != nil {
		d.pub.NewSource(t)
	}
}

// WriteAccessUnit hands one access unit to the current session, if any. It
// never blocks. Calls must come from one goroutine at a time.
func (d *Destination) WriteAccessUnit(au [][]byte, pts, dts time.Duration) {
	d.mu.Lock()
	pub := d.pub
	d.mu.Unlock()
	if pub != nil {
		pub.WriteAccessUnit(au, pts, dts)
	}
}

// WriteAudio hands one AAC frame to the current session, if any, with its
// PTS on the same clock as the pictures'. It never blocks. Calls come from
// the goroutine that writes access units.
func (d *Destination) WriteAudio(aac []byte, pts time.Duration) {
	d.mu.Lock()
	pub := d.pub
	d.mu.Unlock()
	if pub != nil {
		pub.WriteAudio(aac, pts)
	}
}

// ReconnectNow skips the wait of a retrying destination.
func (d *Destination) ReconnectNow() {
	select {
	case d.now <- struct{}{}:
	default:
	}
}

// Status returns the destination's state and counters.
func (d *Destination) Status() DestinationStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := DestinationStatus{
		URL: d.masked, State: d.state, Err: d.err, NextAttempt: d.next, Attempts: d.attempts,
		FramesSent: d.sent, BytesSent: d.bytes, FramesDropped: d.drop, AudioFramesSent: d.sounds,
	}
	if d.pub != nil {
		st := d.pub.Stats()
		s.FramesSent += st.FramesSent
		s.BytesSent += st.BytesSent
		s.FramesDropped += st.FramesDropped
		s.AudioFramesSent += st.AudioFramesSent
		s.Link = st.Link
	}
	return s
}

// Close ends the session and stops retrying.
func (d *Destination) Close() {
	d.cancel()
	<-d.done
}
