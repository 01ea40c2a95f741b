package transition

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		kind string
		d    time.Duration
		want T
		err  string
	}{
		{"", 0, T{Fade, DefaultDuration}, ""},
		{"Cut", time.Second, T{Kind: Cut}, ""},
		{"slide", 500 * time.Millisecond, T{Slide, 500 * time.Millisecond}, ""},
		{"wipe", 0, T{}, `transition "wipe" is not one of cut, fade, slide`},
		{"fade", -time.Second, T{}, "outside 0..10s"},
		{"fade", time.Minute, T{}, "outside 0..10s"},
	} {
		got, err := Parse(c.kind, c.d)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Parse(%q, %v): %v, want an error saying %q", c.kind, c.d, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Parse(%q, %v) = %v, %v; want %v", c.kind, c.d, got, err, c.want)
		}
	}
	if n := (T{Fade, 300 * time.Millisecond}).Frames(30); n != 9 {
		t.Errorf("a 300 ms fade at 30 fps spans %d frames, want 9", n)
	}
	if n := (T{Kind: Cut}).Frames(30); n != 1 {
		t.Errorf("a cut spans %d frames, want 1", n)
	}
}
