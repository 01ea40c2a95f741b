package timeline

import (
	"testing"
	"time"
)

const frame = time.Second / 30

// An RTMP session's timeline (milliseconds) across encoder restarts, past
// the 2^24 ms where FLV's 24-bit timestamps spill into the extended byte.
func TestRebaseMilliseconds(t *testing.T) {
	const start = 16777216*time.Millisecond - 5*time.Second
	tl := New(start, 1000)
	wall := time.Unix(1000, 0)
	var got []int64
	// First source: 90 frames starting at an arbitrary clock value.
	for i := 0; i < 90; i++ {
		got = append(got, tl.Stamp(7*time.Hour+time.Duration(i)*frame, wall.Add(time.Duration(i)*frame)))
	}
	if got[0] != start.Milliseconds() {
		t.Fatalf("first timestamp %d, want %d", got[0], start.Milliseconds())
	}
	lastFirst := got[len(got)-1]
	lastWall := wall.Add(89 * frame)

	// The encoder restarts; its first frame arrives 400 ms later with DTS 0.
	tl.NewSource()
	first := tl.Stamp(0, lastWall.Add(400*time.Millisecond))
	if first != lastFirst+400 {
		t.Fatalf("new source starts at %d, want %d (last + wall gap)", first, lastFirst+400)
	}
	got = append(got, first)
	for i := 1; i < 200; i++ {
		got = append(got, tl.Stamp(time.Duration(i)*frame, lastWall.Add(400*time.Millisecond+time.Duration(i)*frame)))
	}

	// A restart faster than a frame still moves on by one frame interval.
	tl.NewSource()
	quick := tl.Stamp(0, lastWall.Add(400*time.Millisecond+199*frame+time.Millisecond))
	if d := quick - got[len(got)-1]; d != 33 && d != 34 {
		t.Fatalf("quick restart step %d ms, want one frame", d)
	}
	got = append(got, quick)

	// A clock that jumps back without notice is a new source too.
	back := tl.Stamp(-time.Hour, lastWall.Add(10*time.Second))
	got = append(got, back)

	crossed := false
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("timestamp %d: %d after %d, not increasing", i, got[i], got[i-1])
		}
		if d := got[i] - got[i-1]; d > 10000 {
			t.Fatalf("timestamp %d: jump of %d ms", i, d)
		}
		if got[i] >= 1<<24 && got[i-1] < 1<<24 {
			crossed = true
		}
	}
	if !crossed {
		t.Fatalf("timeline never crossed 2^24 ms: last %d", got[len(got)-1])
	}
}

func TestStrictlyIncreasing(t *testing.T) {
	tl := New(0, 1000)
	wall := time.Now()
	a := tl.Stamp(time.Second, wall)
	b := tl.Stamp(time.Second, wall)                      // same DTS
	c := tl.Stamp(time.Second+100*time.Microsecond, wall) // same millisecond
	if !(a < b && b < c) {
		t.Fatalf("got %d %d %d, want strictly increasing", a, b, c)
	}
}

// A recording's timeline (90 kHz ticks from 0): a restart shows as the
// wall-clock gap, a clock that steps back without notice as one frame.
func TestRebase90kHz(t *testing.T) {
	tl := New(0, 90000)
	wall := time.Unix(1000, 0)
	var last int64 = -1
	stamp := func(pts, at time.Duration) int64 {
		out := tl.Stamp(pts, wall.Add(at))
		if out <= last {
			t.Fatalf("Stamp(%v) = %d after %d", pts, out, last)
		}
		last = out
		return out
	}
	if got := stamp(5*time.Second, 0); got != 0 {
		t.Fatalf("first frame at %d, want 0", got)
	}
	if got := stamp(5*time.Second+frame, frame); got != 3000 {
		t.Fatalf("second frame at %d, want 3000", got)
	}
	tl.NewSource() // the clock starts over, 2 s of wall time later
	if got := stamp(0, frame+2*time.Second); got != 3000+180000 {
		t.Fatalf("after restart %d, want %d", got, 3000+180000)
	}
	stamp(frame, 2*frame+2*time.Second)
	if got := stamp(0, 2*frame+2*time.Second+time.Millisecond); got != 3*3000+180000 {
		t.Fatalf("step back: %d, want %d (one frame on)", got, 3*3000+180000)
	}
	if tl.FrameTicks() != 3000 {
		t.Fatalf("frame interval %d ticks, want 3000", tl.FrameTicks())
	}
}

func TestTicksRoundToNearest(t *testing.T) {
	ms, khz90 := New(0, 1000), New(0, 90000)
	for _, c := range []struct {
		tl   *Timeline
		d    time.Duration
		want int64
	}{
		{ms, time.Second, 1000}, {ms, 1499 * time.Microsecond, 1}, {ms, 1500 * time.Microsecond, 2},
		{ms, -400 * time.Millisecond, -400}, {ms, -1499 * time.Microsecond, -1}, {ms, -time.Nanosecond, 0},
		{khz90, frame, 3000}, {khz90, 3 * time.Hour, 3 * 3600 * 90000}, {khz90, -frame, -3000},
	} {
		if got := c.tl.Ticks(c.d); got != c.want {
			t.Errorf("Ticks(%v) at %d/s = %d, want %d", c.d, c.tl.rate, got, c.want)
		}
	}
}

// Audio follows the frames' offset: at a restart it moves with the picture,
// so a sound and the picture captured with it keep the same output time.
func TestFollowSharesTheOffset(t *testing.T) {
	tl := New(5*time.Second, 1000)
	wall := time.Unix(100, 0)
	if _, ok := tl.Follow(0); ok {
		t.Fatal("audio placed before any frame")
	}
	tl.Stamp(0, wall)
	tl.Stamp(time.Second, wall.Add(time.Second))
	if a, _ := tl.Follow(500 * time.Millisecond); a != 5500 {
		t.Fatalf("audio at 0.5 s: %d, want 5500", a)
	}
	tl.NewSource() // the encoder restarted: its clock starts over
	if _, ok := tl.Follow(0); ok {
		t.Fatal("audio of the new source placed before its first frame")
	}
	v := tl.Stamp(0, wall.Add(2*time.Second))
	if a, _ := tl.Follow(20 * time.Millisecond); a != v+20 {
		t.Fatalf("audio 20 ms after the new source's first frame at %d: %d", v, a)
	}
}
