package stream

import (
	"testing"
	"time"
)

// RTP timestamps of a long stream wrap around 2^32; the PTS taken from them
// keeps counting instead of jumping back 13 hours.
func TestUnwrapSurvivesTheWrap(t *testing.T) {
	var u Unwrap
	start := uint32(1<<32 - 90000) // one second before the wrap at 90 kHz
	if got := u.Next(start); got != int64(start) {
		t.Fatalf("first: %d", got)
	}
	got := u.Next(start + 2*90000) // wrapped
	if want := int64(start) + 2*90000; got != want {
		t.Fatalf("after the wrap: %d, want %d", got, want)
	}
	if d := Duration(got, 90000) - Duration(int64(start), 90000); d != 2*time.Second {
		t.Fatalf("two seconds became %v", d)
	}
	// A packet a little late (reordered) steps back, not forward 13 h.
	if got := u.Next(start + 90000); got != int64(start)+90000 {
		t.Fatalf("step back: %d", got)
	}
}

type counter struct{ started, units, stopped int }

func (c *counter) SourceStarted(string, Tracks) { c.started++ }
func (c *counter) Unit(string, Unit)            { c.units++ }
func (c *counter) SourceStopped(string)         { c.stopped++ }

// Every sink added hears everything until it is removed.
func TestFanOut(t *testing.T) {
	var f FanOut
	a, b := &counter{}, &counter{}
	f.Add(a)
	f.Add(b)
	f.SourceStarted("program", Tracks{})
	f.Unit("program", AudioUnit([]byte{1}, 0))
	f.Remove(a)
	f.Unit("program", VideoUnit([][]byte{{5}}, 0))
	f.SourceStopped("program")
	if *a != (counter{1, 1, 0}) || *b != (counter{1, 2, 1}) {
		t.Fatalf("a %+v b %+v", *a, *b)
	}
}
