package gosched

import (
	"context"
	"testing"
	"time"
)

// A paced loop must never run early: each sleep lasts at least what was
// asked, also when one follows another.
func TestSleeperSleepsAtLeastWhatIsAsked(t *testing.T) {
	s := NewSleeper()
	defer s.Close()
	if s.timer == nil {
		t.Fatal("no timerfd: the Sleeper fell back to Go's timers")
	}
	for _, d := range []time.Duration{15 * time.Millisecond, time.Millisecond, 7 * time.Millisecond} {
		start := time.Now()
		if !s.Sleep(context.Background(), d) {
			t.Fatalf("Sleep(%v) reported its context ended", d)
		}
		if got := time.Since(start); got < d {
			t.Errorf("Sleep(%v) returned after %v", d, got)
		}
	}
	if !s.Sleep(context.Background(), 0) {
		t.Error("Sleep(0) with a live context reported it ended")
	}
}

// A stop must not wait out the sleep: a mixer stopped in its wait ends at
// once.
func TestSleeperEndsWithItsContext(t *testing.T) {
	s := NewSleeper()
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool)
	go func() { done <- s.Sleep(ctx, time.Hour) }()
	cancel()
	select {
	case slept := <-done:
		if slept {
			t.Error("Sleep reported a full sleep after its context ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sleep did not return after its context ended")
	}
	if s.Sleep(ctx, time.Hour) {
		t.Error("Sleep on an ended context reported a full sleep")
	}
	// The next sleep, on a live context, is a whole one again.
	start := time.Now()
	if !s.Sleep(context.Background(), 5*time.Millisecond) || time.Since(start) < 5*time.Millisecond {
		t.Error("a sleep after an ended one was cut short")
	}
}
