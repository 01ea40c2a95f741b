package gosched

import "testing"

func TestWithSetting(t *testing.T) {
	for _, c := range []struct {
		cur, want string
		changed   bool
	}{
		{"", Setting, true},
		{"gctrace=1", "gctrace=1," + Setting, true},
		{"schedtrace=1000", "schedtrace=1000", false},
		{"gctrace=1, schedtrace=5", "gctrace=1, schedtrace=5", false},
		{"xschedtrace=5", "xschedtrace=5," + Setting, true},
	} {
		got, changed := withSetting(c.cur)
		if got != c.want || changed != c.changed {
			t.Errorf("withSetting(%q) = %q, %v; want %q, %v", c.cur, got, changed, c.want, c.changed)
		}
	}
}
