package slate

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/stream"
)

// While pictures and sound come, the filter's loop sleeps until the first
// moment a slate or a silence fill could come due, rather than waking every
// tick; while a slate shows it ticks to send the slate's pictures on time.
func TestFilterSleepsUntilSomethingCouldComeDue(t *testing.T) {
	f, _, clk, _ := setup(t)
	f.Unit("program", au(realIDR))
	if d := f.sleepFor(clk.add(300 * time.Millisecond)); d != After-300*time.Millisecond {
		t.Fatalf("300 ms after a picture: sleeps %v, want until the slate could be due (%v)", d, After-300*time.Millisecond)
	}
	f.Tick(clk.add(700 * time.Millisecond))
	if s := f.Showing(); len(s) != 1 {
		t.Fatalf("a second without a picture: showing %v, want the slate", s)
	}
	if d := f.sleepFor(clk.t); d != tickEvery {
		t.Fatalf("while the slate shows: sleeps %v, want a tick (%v)", d, tickEvery)
	}

	// With sound, half a second without it is a gap to fill.
	g, _, gclk := soundFilter()
	src := newSource(g, gclk)
	src.playUntil(time.Second)
	if d := g.sleepFor(gclk.t); d > SilenceAfter || d < SilenceAfter-100*time.Millisecond {
		t.Fatalf("while sound comes: sleeps %v, want up to the silence fill's %v", d, SilenceAfter)
	}
	wait(g, gclk, SilenceAfter+100*time.Millisecond)
	if d := g.sleepFor(gclk.t); d != tickEvery {
		t.Fatalf("while silence fills a gap: sleeps %v, want a tick (%v)", d, tickEvery)
	}

	// Off air nothing is due: the loop sleeps its longest.
	f.SetLive(false)
	if d := f.sleepFor(clk.t); d != After {
		t.Fatalf("off air: sleeps %v, want %v", d, After)
	}
}

// lockedStarts counts the sources the outputs hear announced, from any
// goroutine.
type lockedStarts struct {
	mu     sync.Mutex
	slates int
	shown  chan struct{}
}

func (l *lockedStarts) SourceStarted(_ string, t stream.Tracks) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if string(t.SPS()) == "slate-sps" {
		l.slates++
		if l.slates == 1 {
			close(l.shown)
		}
	}
}
func (l *lockedStarts) Unit(string, stream.Unit) {}
func (l *lockedStarts) SourceStopped(string)     {}

// On the real clock, the sleeping loop still puts the slate on air once
// the program has been gone a second, and not before.
func TestRunShowsSlateOnItsOwn(t *testing.T) {
	out := &lockedStarts{shown: make(chan struct{})}
	f := New(out, time.Now, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	defer func() { cancel(); <-done }()

	f.SetSlate("program", &Slate{SPS: []byte("slate-sps"), PPS: []byte("pps"), FPS: 10, GOP: [][][]byte{{[]byte(slateIDR)}}})
	f.SourceStarted("program", tracks("real-sps"))
	last := time.Now() // the filter's own reading comes after it
	f.Unit("program", au(realIDR))
	// The loop slept while off air; going live wakes it.
	f.SetLive(true)
	select {
	case <-out.shown:
		if gone := time.Since(last); gone < After {
			t.Fatalf("slate after %v without a picture, want at least %v", gone, After)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no slate 10 s after the last picture")
	}
}
