package pluginhost

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/limits"
	"github.com/onair-studio/onair/internal/supervise"
	"github.com/onair-studio/onair/stub/pb"
)

// writeScript writes an executable shell script into dir.
func writeScript(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// A plugin whose binary points out of the plugins directory (at a file that
// another directory's manifest lists) is refused, saying why, and nothing
// out there runs; the other plugins run on.
func TestBinaryOutsideThePluginsDirRefused(t *testing.T) {
	h := newHarness(t, "clock")
	other := filepath.Join(filepath.Dir(h.dir), "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	ran := filepath.Join(other, "ran")
	writeScript(t, other, "evil", "touch "+ran)
	if _, err := WriteManifest(other); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(h.dir, filepath.Join(other, "evil"))
	if err != nil || !strings.HasPrefix(rel, "..") {
		t.Fatalf("%s relative to %s: %q %v", other, h.dir, rel, err)
	}
	h.configure(pspec("clock"), &pb.PluginSpec{Name: "evil", Binary: rel})
	h.awaitRunning("clock")
	st := h.plugin("evil")
	want := "a plugin binary is a file name in the plugins directory " + h.dir
	if st.GetState() != StateFailed || !strings.Contains(st.GetError(), rel) || !strings.Contains(st.GetError(), want) {
		t.Fatalf("evil: %s %q, want failed saying %q", st.GetState(), st.GetError(), want)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Fatal("the binary outside the plugins directory ran")
	}
}

// Overlays show on the largest output the config allows, not only on
// outputs up to the largest overlay.
func TestOverlaysOnTheLargestOutput(t *testing.T) {
	h := newHarness(t, "clock")
	h.configure(pspec("clock", "text", "8K", "position", "7000,4000", "size", "64"))
	h.awaitRunning("clock")
	w := h.watch(limits.MaxOutputWidth, limits.MaxOutputHeight)
	w.await("the clock's overlay on a 7680x4320 output", 10*time.Second, func() bool {
		w.mu.Lock()
		err := w.err
		w.mu.Unlock()
		if err != nil {
			t.Fatalf("watching overlays at %dx%d: %v", limits.MaxOutputWidth, limits.MaxOutputHeight, err)
		}
		return w.current("clock") != nil
	})
	if c := w.current("clock"); c.GetX() != 7000 || c.GetY() != 4000 {
		t.Fatalf("clock overlay at %d,%d, want 7000,4000", c.GetX(), c.GetY())
	}
}

// A plugin that writes 10 MiB to stderr without a newline is reported with
// one cut line, not 10 MiB of it.
func TestEndlessPluginStderrIsCut(t *testing.T) {
	h := newHarness(t)
	writeScript(t, h.dir, "spew", "head -c 10485760 /dev/zero | tr '\\0' x >&2\necho >&2\nexit 3")
	if _, err := WriteManifest(h.dir); err != nil {
		t.Fatal(err)
	}
	h.configure(pspec("spew"))
	st := h.awaitPlugin("spew", "reported with what it said", 15*time.Second, func(p *pb.PluginState) bool {
		return strings.Contains(p.GetError(), "it said: ")
	})
	_, said, _ := strings.Cut(st.GetError(), "it said: ")
	if want := strings.Repeat("x", limits.MaxLineBytes) + supervise.CutMark; said != want {
		t.Fatalf("the error quotes %d bytes of stderr, want the first %d cut and marked", len(said), limits.MaxLineBytes)
	}
}
