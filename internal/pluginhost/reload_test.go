package pluginhost

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/stub/pb"
)

// installAtomic puts data in dir under name the way a plugin is installed
// over a running one: a new file renamed into place, never written over.
func installAtomic(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".new")
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func built(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(binDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A new binary and manifest entry for one plugin starts that plugin anew
// without any call; the other plugin is not restarted although the
// manifest was rewritten; a binary the manifest does not match is refused
// with the checksum message while the build on air stays.
func TestHotReload(t *testing.T) {
	h := newHarness(t, "clock", "watermark")
	h.configure(pspec("clock"), pspec("watermark"))
	h.awaitRunning("clock", "watermark")
	clock, wm := h.plugin("clock"), h.plugin("watermark")

	// The watermark binary under the clock's name: another plugin, so the
	// new process is surely the new binary.
	installAtomic(t, h.dir, "clock", built(t, "watermark"))
	if _, err := WriteManifest(h.dir); err != nil {
		t.Fatal(err)
	}
	h.awaitPlugin("clock", "reloaded", 5*time.Second, func(p *pb.PluginState) bool {
		return p.GetState() == StateRunning && p.GetPid() != clock.GetPid() && p.GetDescription() == wm.GetDescription()
	})
	if p := h.plugin("clock"); p.GetRestarts() != 1 {
		t.Errorf("clock restarts %d after one reload, want 1", p.GetRestarts())
	}
	if p := h.plugin("watermark"); p.GetPid() != wm.GetPid() || p.GetRestarts() != 0 {
		t.Errorf("watermark was restarted by another plugin's install: pid %d -> %d, restarts %d",
			wm.GetPid(), p.GetPid(), p.GetRestarts())
	}

	// A binary the manifest does not list is refused with the checksum
	// message, and the build on air stays on air until it is approved.
	onAir := h.plugin("clock")
	installAtomic(t, h.dir, "clock", built(t, "clock"))
	st := h.awaitPlugin("clock", "refused", 5*time.Second, func(p *pb.PluginState) bool {
		return strings.Contains(p.GetError(), "checksum mismatch: the file's sha256 is")
	})
	if st.GetState() != StateRunning || st.GetPid() != onAir.GetPid() {
		t.Errorf("the running build was stopped for a refused one: %v", st)
	}
	// Approving it starts the new build.
	if _, err := WriteManifest(h.dir); err != nil {
		t.Fatal(err)
	}
	h.awaitPlugin("clock", "the approved build running", 5*time.Second, func(p *pb.PluginState) bool {
		return p.GetState() == StateRunning && p.GetPid() != onAir.GetPid() && p.GetError() == ""
	})
	if p := h.plugin("watermark"); p.GetPid() != wm.GetPid() || p.GetRestarts() != 0 {
		t.Errorf("watermark restarted: %v", p)
	}
}

// A plugin in its crash-loop state starts again once a fixed binary and
// manifest are installed, as its message says; RestartPlugin restarts one
// plugin only.
func TestCrashLoopFixedByInstall(t *testing.T) {
	h := newHarness(t, "clock")
	installAtomic(t, h.dir, "hello", []byte("#!/bin/sh\necho 'broken build' >&2\nexit 3\n"))
	if _, err := WriteManifest(h.dir); err != nil {
		t.Fatal(err)
	}
	h.configure(pspec("clock"), pspec("hello"))
	st := h.awaitPlugin("hello", "failed", 20*time.Second, func(p *pb.PluginState) bool { return p.GetState() == StateFailed })
	if !strings.Contains(st.GetError(), "stays stopped until its parameters, its binary or its manifest entry change") {
		t.Errorf("crash loop error %q", st.GetError())
	}
	installAtomic(t, h.dir, "hello", built(t, "watermark"))
	if _, err := WriteManifest(h.dir); err != nil {
		t.Fatal(err)
	}
	h.awaitRunning("hello")

	clock, hello := h.plugin("clock"), h.plugin("hello")
	if _, err := h.client.RestartPlugin(context.Background(), &pb.PluginRequest{Name: "hello"}); err != nil {
		t.Fatal(err)
	}
	h.awaitPlugin("hello", "restarted", 5*time.Second, func(p *pb.PluginState) bool {
		return p.GetState() == StateRunning && p.GetPid() != hello.GetPid() && p.GetRestarts() == hello.GetRestarts()+1
	})
	if p := h.plugin("clock"); p.GetPid() != clock.GetPid() || p.GetRestarts() != 0 {
		t.Errorf("clock restarted with hello: %v", p)
	}
	if _, err := h.client.RestartPlugin(context.Background(), &pb.PluginRequest{Name: "nosuch"}); err == nil ||
		!strings.Contains(err.Error(), `no plugin "nosuch" is loaded (loaded: clock, hello)`) {
		t.Errorf("restarting an unknown plugin: %v", err)
	}
}
