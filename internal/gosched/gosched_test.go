package gosched

import (
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/onair-studio/onair/internal/testpeer"
)

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

// niceOf is the nice value of this process's thread tid.
func niceOf(t *testing.T, tid int) int {
	p, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		t.Fatal(err)
	}
	return 20 - p // the system call's answer is 20 - nice
}

func TestBackgroundRunsAtLowestPriority(t *testing.T) {
	var tid, nice int
	Background(func() {
		tid = unix.Gettid()
		nice = niceOf(t, tid)
	})
	if nice != backgroundNice {
		t.Errorf("background work ran at nice %d, want %d", nice, backgroundNice)
	}
	if n := niceOf(t, unix.Gettid()); n != 0 {
		t.Errorf("the caller's thread is at nice %d after the background work, want 0", n)
	}
	// The thread ends with the work, so no goroutine runs at its priority
	// after it. (Go parks the main thread instead of ending it.)
	if tid == os.Getpid() {
		return
	}
	testpeer.Await(t, 10*time.Second, "the background thread's end", func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid))
		return os.IsNotExist(err)
	})
}
