package stages

import (
	"testing"
	"time"
)

// A second's figures are each stage's mean and maximum over its frames,
// and the slots the frames left out; they show once the second is over.
func TestMeterSumsEachSecond(t *testing.T) {
	var clock int64
	m := newMeter(func() int64 { return clock })
	for i, slot := range []int64{0, 1, 4, 5} { // slots 2 and 3 skipped
		m.Frame(slot)
		m.Record(Capture, time.Duration(i+1)*time.Millisecond)
		m.Record(Encode, 10*time.Millisecond)
	}
	if _, ok := m.Last(); ok {
		t.Fatal("a second's figures before the second ended")
	}
	clock += int64(time.Second)
	w, ok := m.Last()
	if !ok {
		t.Fatal("no figures after a second")
	}
	if w.Frames != 4 || w.Skipped != 2 {
		t.Fatalf("frames %d, skipped %d; want 4 and 2", w.Frames, w.Skipped)
	}
	if w.Mean[Capture] != 2500*time.Microsecond || w.Max[Capture] != 4*time.Millisecond {
		t.Fatalf("capture mean %v max %v; want 2.5ms and 4ms", w.Mean[Capture], w.Max[Capture])
	}
	if w.Mean[Encode] != 10*time.Millisecond || w.Mean[Send] != 0 {
		t.Fatalf("encode mean %v, send mean %v; want 10ms and 0", w.Mean[Encode], w.Mean[Send])
	}

	// The next second starts empty; a second with no frame at all reads
	// as zero, not as the old figures.
	m.Frame(6)
	m.Record(Convert, time.Millisecond)
	clock += int64(time.Second)
	if w, _ := m.Last(); w.Frames != 1 || w.Skipped != 0 || w.Mean[Capture] != 0 || w.Mean[Convert] != time.Millisecond {
		t.Fatalf("second second: %+v", w)
	}
	clock += 3 * int64(time.Second)
	if w, _ := m.Last(); w.Frames != 0 || w.Mean[Convert] != 0 {
		t.Fatalf("after an idle second: %+v", w)
	}
}

// Recording allocates nothing: it runs for every stage of every frame.
func TestRecordDoesNotAllocate(t *testing.T) {
	m := NewMeter()
	if n := testing.AllocsPerRun(1000, func() {
		start := Now()
		m.Frame(1)
		m.Record(Convert, Since(start))
	}); n != 0 {
		t.Fatalf("%v allocations per frame", n)
	}
}

// BenchmarkFrame is one frame's timing as the encoder records it: a
// composed frame and its five stages, each read from the clock twice.
func BenchmarkFrame(b *testing.B) {
	m := NewMeter()
	for i := 0; i < b.N; i++ {
		m.Frame(int64(i))
		for s := Stage(0); s < count; s++ {
			start := Now()
			m.Record(s, Since(start))
		}
	}
}
