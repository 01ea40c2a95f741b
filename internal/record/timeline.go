package record

import "time"

// timescale is the media timescale of the recorded track: 90 kHz, the
// RTP clock of the return path, so no precision is lost on the way.
const timescale = 90000

// maxSourceJump is the largest forward step between two frames of one source
// that is taken as real time passing; a larger one (or any step back) means
// the source's clock started over and is treated like a new source.
const maxSourceJump = 10 * time.Second

// toTicks converts a duration to 90 kHz ticks, rounding to the nearest tick.
func toTicks(d time.Duration) int64 {
	sec := d / time.Second
	rem := d % time.Second
	return int64(sec)*timescale + (int64(rem)*timescale+int64(time.Second)/2)/int64(time.Second)
}

// timeline maps source timestamps onto the file's decode timeline (90 kHz
// ticks from 0), which stays strictly increasing for the whole file.
//
// Within one source, output = source PTS + offset. When a new source begins
// (the encoder restarted and its clock started over), its first frame
// continues from the last output timestamp plus the wall-clock time between
// the two frames' arrival, but at least one frame interval: the picture froze
// for that long, so the file keeps pace with real time and the restart shows
// as a gap, never as a jump back.
type timeline struct {
	started  bool
	rebase   bool  // the next frame begins a new source
	offset   int64 // output = source + offset
	last     int64 // last output timestamp
	lastSrc  int64 // source timestamp of the last frame
	lastWall time.Time
	frameDur int64 // recent interval between source frames
}

func newTimeline() *timeline { return &timeline{frameDur: timescale / 30} }

// newSource says the next frame comes from a new source with its own clock.
func (t *timeline) newSource() { t.rebase = true }

// stamp returns the output timestamp of a frame with source timestamp pts
// that arrived at wall.
func (t *timeline) stamp(pts time.Duration, wall time.Time) int64 {
	src := toTicks(pts)
	switch {
	case !t.started:
		t.offset = -src
	case t.rebase || src < t.lastSrc || src-t.lastSrc > toTicks(maxSourceJump):
		gap := max(toTicks(wall.Sub(t.lastWall)), t.frameDur)
		t.offset = t.last + gap - src
	default:
		if d := src - t.lastSrc; d > 0 && d <= toTicks(250*time.Millisecond) {
			t.frameDur = d
		}
	}
	out := src + t.offset
	if t.started && out <= t.last {
		out = t.last + 1
	}
	t.started, t.rebase = true, false
	t.last, t.lastSrc, t.lastWall = out, src, wall
	return out
}
