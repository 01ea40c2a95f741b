package scene

import (
	"context"
	"errors"
	"image"
	"time"
)

// Frame is a composed picture handed to a Consumer.
type Frame struct {
	*image.RGBA
	// BGRX is true when the frame is a full-frame screen capture passed on
	// as the X server holds it: bytes B,G,R,X (X undefined), not R,G,B,A.
	// Nothing is drawn over such a frame, and leaving it unconverted saves
	// a pass over every pixel.
	BGRX bool
}

// Consumer receives each composed frame, on the compositor's goroutine.
//
// frame is reused for the next frame: convert or copy it before returning.
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
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("scene: compositor already running")
	}
	defer c.running.Store(false)

	start := time.Now()
	due := func(n int64) time.Time {
		return start.Add(time.Duration(float64(n) * float64(time.Second) / c.fps))
	}
	slotAt := func(t time.Time) int64 {
		return int64(t.Sub(start).Seconds() * c.fps)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C

	for n := int64(0); ; {
		if wait := time.Until(due(n)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return nil
		}
		t := time.Now()
		consume(c.compose(n, t, true), n, t)
		c.composed.Add(1)
		if ctx.Err() != nil { // slots after the stop are not skipped ones
			return nil
		}

		next := n + 1
		if now := slotAt(time.Now()); now > next {
			c.skipped.Add(now - next)
			next = now
		}
		n = next
	}
}
