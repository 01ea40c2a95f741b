package output

import (
	"testing"
	"time"
)

const frame = time.Second / 30

func TestTimelineRebase(t *testing.T) {
	const start = 16777216*time.Millisecond - 5*time.Second
	tl := newTimeline(start)
	wall := time.Unix(1000, 0)
	var got []int64
	// First source: 90 frames starting at an arbitrary clock value.
	for i := 0; i < 90; i++ {
		got = append(got, tl.stamp(7*time.Hour+time.Duration(i)*frame, wall.Add(time.Duration(i)*frame)))
	}
	if got[0] != start.Milliseconds() {
		t.Fatalf("first timestamp %d, want %d", got[0], start.Milliseconds())
	}
	lastFirst := got[len(got)-1]
	lastWall := wall.Add(89 * frame)

	// The encoder restarts; its first frame arrives 400 ms later with DTS 0.
	tl.newSource()
	first := tl.stamp(0, lastWall.Add(400*time.Millisecond))
	if first != lastFirst+400 {
		t.Fatalf("new source starts at %d, want %d (last + wall gap)", first, lastFirst+400)
	}
	got = append(got, first)
	for i := 1; i < 200; i++ {
		got = append(got, tl.stamp(time.Duration(i)*frame, lastWall.Add(400*time.Millisecond+time.Duration(i)*frame)))
	}

	// A restart faster than a frame still moves on by one frame interval.
	tl.newSource()
	quick := tl.stamp(0, lastWall.Add(400*time.Millisecond+199*frame+time.Millisecond))
	if d := quick - got[len(got)-1]; d != 33 && d != 34 {
		t.Fatalf("quick restart step %d ms, want one frame", d)
	}
	got = append(got, quick)

	// A clock that jumps back without notice is a new source too.
	back := tl.stamp(-time.Hour, lastWall.Add(10*time.Second))
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

func TestTimelineStrictlyIncreasing(t *testing.T) {
	tl := newTimeline(0)
	wall := time.Now()
	a := tl.stamp(time.Second, wall)
	b := tl.stamp(time.Second, wall)                      // same DTS
	c := tl.stamp(time.Second+100*time.Microsecond, wall) // same millisecond
	if !(a < b && b < c) {
		t.Fatalf("got %d %d %d, want strictly increasing", a, b, c)
	}
}
