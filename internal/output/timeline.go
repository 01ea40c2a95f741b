package output

import "time"

// maxSourceJump is the largest forward step between two frames of one source
// that is taken as real time passing; a larger one (or any step back) means
// the source's clock started over and is treated like a new source.
const maxSourceJump = 10 * time.Second

// timeline maps source timestamps onto the RTMP session's timeline in
// milliseconds, which must stay strictly increasing for the whole session:
// players and servers treat a step back as a broken stream.
//
// Within one source, output = source DTS + offset. When a new source begins
// (the encoder restarted, its clock starts over), its first frame continues
// from the last output timestamp plus the wall-clock time between the two
// frames' arrival, but at least one frame interval. A frozen picture of that
// length is what viewers saw, so the timeline keeps pace with real time.
type timeline struct {
	start    time.Duration // first output timestamp
	started  bool
	rebase   bool          // the next frame begins a new source
	offset   time.Duration // output = source DTS + offset
	last     int64         // last output timestamp, ms
	lastDTS  time.Duration // source DTS of the last frame
	lastWall time.Time     // arrival of the last frame
	frameDur time.Duration // recent interval between source frames
}

func newTimeline(start time.Duration) *timeline {
	return &timeline{start: start, frameDur: time.Second / 30}
}

// newSource says the next frame comes from a new source with its own clock.
func (t *timeline) newSource() { t.rebase = true }

// stamp returns the output timestamp (ms) of a frame with source DTS dts that
// arrived at wall.
func (t *timeline) stamp(dts time.Duration, wall time.Time) int64 {
	switch {
	case !t.started:
		t.offset = t.start - dts
	case t.rebase || dts < t.lastDTS || dts-t.lastDTS > maxSourceJump:
		gap := max(wall.Sub(t.lastWall), t.frameDur)
		t.offset = time.Duration(t.last)*time.Millisecond + gap - dts
	default:
		if d := dts - t.lastDTS; d > 0 && d <= 250*time.Millisecond {
			t.frameDur = d
		}
	}
	out := (dts + t.offset).Milliseconds()
	if t.started && out <= t.last {
		out = t.last + 1
	}
	t.started, t.rebase = true, false
	t.last, t.lastDTS, t.lastWall = out, dts, wall
	return out
}

// lastTimestamp is the last output timestamp (the start if none yet).
func (t *timeline) lastTimestamp() time.Duration {
	if !t.started {
		return t.start
	}
	return time.Duration(t.last) * time.Millisecond
}
