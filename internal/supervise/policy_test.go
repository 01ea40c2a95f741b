package supervise

import (
	"testing"
	"time"
)

func TestBackoffDoublesThenFails(t *testing.T) {
	p := DefaultPolicy()
	b := NewCrashHistory(p)
	now := time.Now()
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	for i, w := range want {
		d, failed := b.Crash(now.Add(time.Duration(i)*time.Second), time.Second)
		if failed || d != w {
			t.Fatalf("crash %d: delay %v failed %v, want %v", i+1, d, failed, w)
		}
	}
	if _, failed := b.Crash(now.Add(4*time.Second), time.Second); !failed {
		t.Fatal("5 crashes in a minute did not fail")
	}
}

func TestBackoffCapsAndForgetsOldCrashes(t *testing.T) {
	p := DefaultPolicy()
	b := NewCrashHistory(p)
	now := time.Now()
	var d time.Duration
	// One crash every 20 s: never 5 within a minute, so never failed.
	for i := 0; i < 12; i++ {
		var failed bool
		d, failed = b.Crash(now.Add(time.Duration(i)*20*time.Second), time.Second)
		if failed {
			t.Fatalf("crash %d failed although only 3 fall in any minute", i+1)
		}
	}
	if d != p.MaxBackoff {
		t.Fatalf("delay %v, want the cap %v", d, p.MaxBackoff)
	}
	// A child that ran for a minute starts over at the first delay.
	if d, _ := b.Crash(now.Add(time.Hour), p.StableAfter); d != p.FirstBackoff {
		t.Fatalf("after a stable run: delay %v, want %v", d, p.FirstBackoff)
	}
}

func TestTailLinesKeepsLastLines(t *testing.T) {
	tl := NewTailLines(2, "", nil)
	_, _ = tl.Write([]byte("one\ntw"))
	_, _ = tl.Write([]byte("o\nthree\npartial"))
	got := tl.Last()
	if len(got) != 2 || got[0] != "two" || got[1] != "three" {
		t.Fatalf("got %q", got)
	}
}
