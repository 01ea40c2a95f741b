package codec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hasGPUDevice reports device nodes through which a hardware encoder could
// possibly work; without any, every hardware backend must be refused.
func hasGPUDevice() bool {
	nv, _ := filepath.Glob("/dev/nvidia[0-9]*")
	_, dri := os.Stat("/dev/dri")
	return len(nv) > 0 || dri == nil
}

// Probe reports every backend in auto order, each refusal with a reason;
// auto picks the first that works, and on a machine without a GPU that is
// libx264 with all three hardware backends refused.
func TestProbeAndAuto(t *testing.T) {
	s := Settings{Width: 640, Height: 360}
	res := Probe(s)
	if len(res) != 4 {
		t.Fatalf("%d results", len(res))
	}
	first := ""
	for i, r := range res {
		t.Logf("%-10s ok=%v %s", r.Name, r.OK, r.Reason)
		if r.Name != autoOrder[i] {
			t.Fatalf("result %d is %s, want %s", i, r.Name, autoOrder[i])
		}
		if r.OK != (r.Reason == "") {
			t.Fatalf("%s: ok=%v with reason %q", r.Name, r.OK, r.Reason)
		}
		if r.OK && first == "" {
			first = r.Name
		}
	}
	if !res[3].OK {
		t.Fatalf("libx264 refused: %s", res[3].Reason)
	}
	if !hasGPUDevice() {
		for _, r := range res[:3] {
			if r.OK {
				t.Fatalf("%s works without any GPU device", r.Name)
			}
		}
	}
	e := mustOpen(t, s)
	if e.Backend() != first {
		t.Fatalf("auto picked %s, Probe says %s works first", e.Backend(), first)
	}
	if !hasGPUDevice() && e.Backend() != BackendX264 {
		t.Fatalf("auto picked %s", e.Backend())
	}
}

// Naming a backend that does not work fails with its name and the same
// reason Probe gives.
func TestNamedBackendRefused(t *testing.T) {
	s := Settings{Width: 640, Height: 360}
	refused := 0
	for _, r := range Probe(s) {
		if r.OK {
			continue
		}
		refused++
		s.Backend = r.Name
		e, err := Open(s)
		if err == nil {
			e.Close()
			t.Fatalf("Open(%s) succeeded though Probe refused it", r.Name)
		}
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), r.Name) || !strings.Contains(err.Error(), r.Reason) {
			t.Fatalf("Open(%s): %v; want the name and %q", r.Name, err, r.Reason)
		}
		t.Logf("Open(%s): %v", r.Name, err)
	}
	if refused == 0 && !hasGPUDevice() {
		t.Fatal("no backend refused on a machine without a GPU")
	}
}
