package codec

import (
	"strings"
	"testing"

	"github.com/onair-studio/onair/internal/limits"
)

// The encoder takes exactly the bitrates the config file, the Control API
// and `master ctl` take: a value they accept never fails here, and one they
// refuse is never encoded.
func TestBitrateRangeIsTheSharedOne(t *testing.T) {
	e := mustOpen(t, Settings{Backend: BackendX264, Width: testW, Height: testH, Preset: "ultrafast"})
	for _, kbps := range []int{limits.MinBitrateKbps - 1, limits.MinBitrateKbps, limits.MaxBitrateKbps, limits.MaxBitrateKbps + 1} {
		want := limits.CheckBitrate(kbps)
		err := e.SetBitrate(kbps)
		if (err == nil) != (want == nil) {
			t.Errorf("SetBitrate(%d): %v; the shared rule says %v", kbps, err, want)
		}
		if want != nil && err != nil && !strings.Contains(err.Error(), want.Error()) {
			t.Errorf("SetBitrate(%d): %q does not say %q", kbps, err, want)
		}
		opened, err := Open(Settings{Backend: BackendX264, Width: testW, Height: testH, Preset: "ultrafast", BitrateKbps: kbps})
		if err == nil {
			opened.Close()
		}
		if (err == nil) != (want == nil) {
			t.Errorf("Open at %d kbit/s: %v; the shared rule says %v", kbps, err, want)
		}
	}
}
