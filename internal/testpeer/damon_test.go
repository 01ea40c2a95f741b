package testpeer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPauseDAMONTurnsMonitorsOnAgain: a benchmark pauses the monitors that
// run, leaves the others alone, and when it ends the machine is as before.
func TestPauseDAMONTurnsMonitorsOnAgain(t *testing.T) {
	dir := t.TempDir()
	state := func(k string) string {
		b, err := os.ReadFile(filepath.Join(dir, k, "state"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	for k, v := range map[string]string{"0": "on\n", "1": "off\n"} {
		if err := os.MkdirAll(filepath.Join(dir, k), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, k, "state"), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("benchmark", func(t *testing.T) {
		pauseDAMON(t, dir)
		if got := state("0"); got != "off" {
			t.Errorf("running monitor during the benchmark: %q, want off", got)
		}
	})
	if got := state("0"); got != "on" {
		t.Errorf("paused monitor after the benchmark: %q, want on", got)
	}
	if got := state("1"); got != "off" {
		t.Errorf("monitor that was off: %q after the benchmark, want off", got)
	}
}
