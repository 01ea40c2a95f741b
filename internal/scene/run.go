package scene

import (
	"context"
	"errors"
	"image"
	"time"

	"github.com/onair-studio/onair/internal/gosched"
)

// Frame is a composed picture handed to a Consumer.
type Frame struct {
	*image.RGBA
	// BGRX is true when the frame is a full-frame screen capture passed on
	// as the X server holds it: bytes B,G,R,X (X undefined), not R,G,B,A.
	// Nothing is drawn over such a frame, and leaving it unconverted saves
	// a pass over every pixel.
	BGRX bool
	// Capture is the time spent reading the sources for this frame, and
	// Compose the rest of the time it took to compose.
	Capture, Compose time.Duration
}

// Consumer receives each composed frame, on the compositor's goroutine.
//
// frame is reused for the next frame: convert or copy it before returning.
// It may point into memory the compositor only borrows (a screen capture's
// shared memory, a program filter's ring slot), which stays valid until
// the next frame is composed.
// frameNo is the frame's slot: it is due at start + frameNo/fps, so
// frameNo/fps is its presentation time and a gap in frameNo is skipped slots.
// captureTime is the wall-clock time composition began.
//
// A callback rather than a channel: the consumer (colour conversion, then
// the encoder) works on the compositor's own buffer with no copy and no
// second buffer, and while it works no further frame is composed, so at
// most one frame is ever in flight. When it returns late, the slots that
// went by are counted as skipped and the next frame is the one due now:
// frames are dropped, never queued.
type Consumer func(frame Frame, frameNo int64, captureTime time.Time)

// Run composes frames on the clock until ctx ends, handing each to consume.
// Frame n is due at start + n/fps; a frame composed late but within its slot
// is still sent, and the slots that passed entirely are skipped. Run returns
// nil when ctx ends, and an error if the compositor is already running.
func (c *Compositor) Run(ctx context.Context, consume Consumer) error {
	return c.RunFrom(ctx, time.Time{}, consume)
}

// RunFrom is Run with frame 0 due at start (zero: now), so that another
// clock, the audio's, can count from the same instant.
func (c *Compositor) RunFrom(ctx context.Context, start time.Time, consume Consumer) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("scene: compositor already running")
	}
	defer c.running.Store(false)

	clk := c.clock
	if clk == nil {
		clk = realClock{}
	}
	if start.IsZero() {
		start = clk.Now()
	}
	due := func(n int64) time.Time {
		return start.Add(time.Duration(float64(n) * float64(time.Second) / c.fps))
	}
	slotAt := func(t time.Time) int64 {
		return int64(t.Sub(start).Seconds() * c.fps)
	}
	for n := int64(0); ; {
		if wait := due(n).Sub(clk.Now()); wait > 0 {
			if !clk.Sleep(ctx, wait) {
				return nil
			}
		} else if ctx.Err() != nil {
			return nil
		}
		t := clk.Now()
		consume(c.compose(n, t, true), n, t)
		c.composed.Add(1)
		if ctx.Err() != nil { // slots after the stop are not skipped ones
			return nil
		}

		next := n + 1
		if now := slotAt(clk.Now()); now > next {
			c.skipped.Add(now - next)
			next = now
		}
		n = next
	}
}

// clock is what Run paces frames by; tests drive a simulated one, so that
// pacing is checked exactly rather than against a busy machine's timers.
type clock interface {
	Now() time.Time
	// Sleep waits for d, or returns false when ctx ends first.
	Sleep(ctx context.Context, d time.Duration) bool
}

// realClock sleeps on Go's timers, not a gosched.Sleeper: the runtime runs
// a due timer before any other ready goroutine, but a poller's wake-up only
// after them, and at high rates the frame clock must not wait behind the
// encoder's work (measured: 1080p ultrafast held 160 fps, 176 to 180 on timers).
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) bool { return gosched.TimerSleep(ctx, d) }
