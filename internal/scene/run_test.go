package scene

import (
	"context"
	"image"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type delivery struct {
	frame *image.RGBA
	n     int64
	t     time.Time
}

// runUntil runs c at its frame rate, calling work for every frame, until
// frame number last has been delivered (or the 30 s test limit passes).
func runUntil(t *testing.T, c *Compositor, last int64, work func()) []delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		mu       sync.Mutex
		got      []delivery
		inFlight atomic.Int32
	)
	err := c.Run(ctx, func(f Frame, n int64, ts time.Time) {
		if inFlight.Add(1) != 1 {
			t.Error("two frames in flight at once")
		}
		defer inFlight.Add(-1)
		mu.Lock()
		got = append(got, delivery{f.RGBA, n, ts})
		mu.Unlock()
		if work != nil {
			work()
		}
		if n >= last {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("frame %d not reached in 30 s", last)
	}
	return got
}

// checkPacing asserts what holds for any consumer: one reused buffer,
// strictly rising frame numbers whose gaps are exactly the skipped count,
// and no frame composed before its slot.
func checkPacing(t *testing.T, c *Compositor, got []delivery) {
	t.Helper()
	period := time.Second / 30
	st := c.Stats()
	if st.Composed != int64(len(got)) {
		t.Errorf("composed %d, delivered %d", st.Composed, len(got))
	}
	last := got[len(got)-1].n
	if st.Composed+st.Skipped != last+1 {
		t.Errorf("composed %d + skipped %d != %d slots", st.Composed, st.Skipped, last+1)
	}
	if got[0].n != 0 {
		t.Errorf("first frame number %d", got[0].n)
	}
	start := got[0].t
	for i, d := range got {
		if d.frame != got[0].frame {
			t.Fatalf("frame %d in a new buffer", d.n)
		}
		if i > 0 && d.n <= got[i-1].n {
			t.Fatalf("frame numbers not rising: %d after %d", d.n, got[i-1].n)
		}
		// Never early. (The run's start lies just before frame 0's time.)
		if due := start.Add(time.Duration(d.n) * period); d.t.Before(due.Add(-time.Millisecond)) {
			t.Errorf("frame %d composed %v before its slot", d.n, due.Sub(d.t))
		}
	}
}

// simClock is simulated time: Sleep moves it on at once, and a consumer
// that "works" for d moves it on by d. Pacing is then checked exactly,
// whatever else the machine is doing.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func newSimClock() *simClock { return &simClock{now: time.Unix(1_000_000, 0)} }

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *simClock) Sleep(ctx context.Context, d time.Duration) bool {
	c.advance(d)
	return ctx.Err() == nil
}

func TestRunPaced(t *testing.T) {
	c := newScene(t, 320, 180, Layer{Source: "pattern", Opacity: 1})
	c.clock = newSimClock()
	got := runUntil(t, c, 30, nil)
	checkPacing(t, c, got)
	// A consumer faster than the frame rate gets every slot, each at its time.
	if span := got[len(got)-1].t.Sub(got[0].t); span != time.Second {
		t.Errorf("30 frames at 30 fps took %v, want 1s", span)
	}
	if st := c.Stats(); st.Skipped != 0 || st.Composed != 31 {
		t.Errorf("a fast consumer: composed %d, skipped %d; want 31 and 0", st.Composed, st.Skipped)
	}
}

func TestRunSlowConsumerSkips(t *testing.T) {
	c := newScene(t, 320, 180, Layer{Source: "pattern", Opacity: 1})
	clk := newSimClock()
	c.clock = clk
	// The consumer needs 50 ms a frame (a stand-in for an encoder slower
	// than real time); slots are 33 ms apart.
	got := runUntil(t, c, 30, func() { clk.advance(50 * time.Millisecond) })
	checkPacing(t, c, got)
	st := c.Stats()
	// 31 slots take 1 s; at 50 ms per frame 21 frames fit.
	if st.Composed != 21 || st.Skipped != 10 {
		t.Errorf("composed %d, skipped %d: want 21 and 10", st.Composed, st.Skipped)
	}
	// When a frame is consumed late but the next slot has begun, that slot's
	// frame is composed at once (gaps of 50 ms, frames 0, 1, 3, 4, 6, …),
	// not at the following slot boundary (gaps of 67 ms).
	for i := 1; i < len(got); i++ {
		if gap := got[i].t.Sub(got[i-1].t); gap != 50*time.Millisecond {
			t.Errorf("frame %d came %v after frame %d, want 50ms", got[i].n, gap, got[i-1].n)
		}
	}
}

func TestRunOnce(t *testing.T) {
	c := newScene(t, 64, 36, Layer{Source: "pattern", Opacity: 1})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error)
	var once sync.Once
	go func() {
		done <- c.Run(ctx, func(Frame, int64, time.Time) { once.Do(func() { close(started) }) })
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("no frame in 10 s")
	}
	if err := c.Run(ctx, func(Frame, int64, time.Time) {}); err == nil {
		t.Error("a second Run while running was accepted")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
}
