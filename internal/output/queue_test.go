package output

import (
	"testing"
	"time"
)

func TestQueueDropsToKeyframe(t *testing.T) {
	q := newQueue(4, time.Hour)
	push := func(key, newSource bool, sps string) {
		u := &accessUnit{key: key, newSource: newSource}
		if sps != "" {
			u.sps, u.pps = []byte(sps), []byte("pps")
		}
		q.push(u)
	}
	// Nothing before the first keyframe goes through.
	push(false, false, "")
	push(true, false, "A")
	push(false, false, "")
	if units, needKey := q.take(); len(units) != 2 || !units[0].key || !needKey {
		t.Fatalf("took %d units (needKey %v), want the keyframe and its follower", len(units), needKey)
	}

	// Overflow: the queued units go, and so does everything up to a keyframe.
	push(true, false, "A")
	push(false, false, "")
	push(false, false, "")
	push(false, false, "") // full
	push(false, false, "") // overflow: all five dropped
	push(false, true, "B") // a new source whose first unit is not a keyframe
	push(true, false, "")  // the keyframe that resumes
	units, _ := q.take()
	if len(units) != 1 || !units[0].key {
		t.Fatalf("after overflow took %d units, want 1 keyframe", len(units))
	}
	if !units[0].newSource || string(units[0].sps) != "B" {
		t.Errorf("the resuming unit lost what dropped units said: newSource %v, sps %q", units[0].newSource, units[0].sps)
	}
	if d := q.droppedCount(); d != 7 {
		t.Errorf("dropped %d, want 7", d)
	}
}

// A stalled writer shows as age before the queue fills: units older than
// maxAge are dropped, again to the next keyframe.
func TestQueueDropsStaleUnits(t *testing.T) {
	q := newQueue(100, 2*time.Second)
	t0 := time.Now()
	at := func(d time.Duration, key bool) { q.push(&accessUnit{key: key, wall: t0.Add(d)}) }
	at(0, true)
	at(time.Second, false)
	at(2500*time.Millisecond, false) // the keyframe has waited 2.5 s: all go
	at(3*time.Second, true)
	units, _ := q.take()
	if len(units) != 1 || !units[0].key || !units[0].wall.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("took %d units, want only the fresh keyframe", len(units))
	}
	if d := q.droppedCount(); d != 3 {
		t.Errorf("dropped %d, want 3", d)
	}
}
