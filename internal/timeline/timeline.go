// Package timeline maps the timestamps of a source that may start over (the
// encoder's clock begins again after every restart) onto one strictly
// increasing output timeline, counted in the output's own unit: RTMP
// sessions in milliseconds, recordings in 90 kHz ticks. Players and servers
// take a step back as a broken stream, so the output never steps back.
package timeline

import "time"

// MaxSourceJump is the largest forward step between two frames of one source
// that is taken as real time passing; a larger one (or any step back) means
// the source's clock started over and is treated like a new source.
const MaxSourceJump = 10 * time.Second

// Timeline is one output's timeline; it is not safe for concurrent use.
//
// Within one source, output = source timestamp + offset. When a new source
// begins, its first frame continues from the last output timestamp plus the
// wall-clock time between the two frames' arrival, but at least one frame
// interval. The picture froze for that long, so the output keeps pace with
// real time and the restart shows as a gap, never as a jump back.
type Timeline struct {
	rate     int64 // output ticks per second
	start    int64 // first output timestamp
	started  bool
	rebase   bool  // the next frame begins a new source
	offset   int64 // output = source + offset
	last     int64 // last output timestamp
	lastSrc  int64 // source timestamp of the last frame, in output ticks
	lastWall time.Time
	frameDur int64 // recent interval between source frames
}

// New starts a timeline at start, counting ticksPerSecond.
func New(start time.Duration, ticksPerSecond int64) *Timeline {
	t := &Timeline{rate: ticksPerSecond}
	t.start, t.frameDur = t.Ticks(start), t.Ticks(time.Second/30)
	return t
}

// Ticks converts a duration to output ticks, rounding to the nearest.
func (t *Timeline) Ticks(d time.Duration) int64 {
	sec, rem := d/time.Second, d%time.Second
	if rem < 0 { // floor, so negative times round like positive ones
		sec, rem = sec-1, rem+time.Second
	}
	return int64(sec)*t.rate + (int64(rem)*t.rate+int64(time.Second)/2)/int64(time.Second)
}

// NewSource says the next frame comes from a new source with its own clock.
func (t *Timeline) NewSource() { t.rebase = true }

// Stamp returns the output timestamp of a frame with source timestamp src
// that arrived at wall.
func (t *Timeline) Stamp(src time.Duration, wall time.Time) int64 {
	s := t.Ticks(src)
	switch {
	case !t.started:
		t.offset = t.start - s
	case t.rebase || s < t.lastSrc || s-t.lastSrc > t.Ticks(MaxSourceJump):
		gap := max(t.Ticks(wall.Sub(t.lastWall)), t.frameDur)
		t.offset = t.last + gap - s
	default:
		if d := s - t.lastSrc; d > 0 && d <= t.Ticks(250*time.Millisecond) {
			t.frameDur = d
		}
	}
	out := s + t.offset
	if t.started && out <= t.last {
		out = t.last + 1
	}
	t.started, t.rebase = true, false
	t.last, t.lastSrc, t.lastWall = out, s, wall
	return out
}

// Last is the last output timestamp (the start if none yet).
func (t *Timeline) Last() int64 {
	if !t.started {
		return t.start
	}
	return t.last
}

// FrameTicks is the recent interval between source frames, in output ticks:
// where the last frame ends when nothing follows it.
func (t *Timeline) FrameTicks() int64 { return t.frameDur }

// Follow returns the output timestamp of another track's unit (audio) with
// source timestamp src: the same offset as the frames', so both tracks move
// together through every restart. False until the first frame set the
// offset.
func (t *Timeline) Follow(src time.Duration) (int64, bool) {
	if !t.started || t.rebase {
		return 0, false
	}
	return t.Ticks(src) + t.offset, true
}
