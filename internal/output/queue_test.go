package output

import "testing"

func TestQueueDropsToKeyframe(t *testing.T) {
	q := newQueue(4)
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
