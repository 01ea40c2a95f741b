package testpeer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// PauseDAMON turns off, until tb ends, the kernel's DAMON memory monitors
// (kdamond threads) that some virtual machines run for their host. One
// that samples the physical memory every half second takes a core for
// about 30 ms each time, and on two cores a screen pipeline then skips
// frames at rates far below what it holds otherwise (BENCHMARKS.md); a
// desktop runs none. Each monitor paused is turned on again when tb ends,
// and the way to do it by hand is printed in case tb never ends normally.
// Without the right to pause one, it says so: the figures then include its
// stalls.
func PauseDAMON(tb testing.TB) { pauseDAMON(tb, "/sys/kernel/mm/damon/admin/kdamonds") }

// pauseDAMON is PauseDAMON for the monitors under dir (DAMON's sysfs
// directory of kdamonds).
func pauseDAMON(tb testing.TB, dir string) {
	states, _ := filepath.Glob(filepath.Join(dir, "*", "state"))
	for _, state := range states {
		b, err := os.ReadFile(state)
		if err != nil || strings.TrimSpace(string(b)) != "on" {
			continue
		}
		name := "kdamond." + filepath.Base(filepath.Dir(state))
		if err := os.WriteFile(state, []byte("off"), 0); err != nil {
			fmt.Printf("the kernel's DAMON memory monitor %s is running and cannot be paused (%v): the figures include its stalls\n", name, err)
			continue
		}
		// A benchmark killed or timed out runs no cleanup: say how to undo it.
		fmt.Printf("paused the kernel's DAMON memory monitor %s until the benchmark ends (should it not end normally: echo on > %s)\n", name, state)
		tb.Cleanup(func() {
			if err := os.WriteFile(state, []byte("on"), 0); err != nil {
				tb.Errorf("turning the DAMON memory monitor %s on again: %v", name, err)
			}
		})
	}
}
