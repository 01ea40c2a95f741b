package audiolimits

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestChecksSayWhatIsValid(t *testing.T) {
	for _, db := range []float64{VolumeMinDB, -6, 0, VolumeMaxDB} {
		if err := CheckVolumeDB(db); err != nil {
			t.Errorf("volume %v refused: %v", db, err)
		}
	}
	for _, db := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -60.01, 20.5} {
		err := CheckVolumeDB(db)
		if err == nil || !strings.Contains(err.Error(), "from -60 to +20") {
			t.Errorf("volume %v: got %v, want a refusal naming -60 to +20", db, err)
		}
	}
	for _, d := range []time.Duration{-MaxSyncOffset, 0, 40 * time.Millisecond, MaxSyncOffset} {
		if err := CheckSyncOffset(d); err != nil {
			t.Errorf("offset %v refused: %v", d, err)
		}
	}
	for _, d := range []time.Duration{-MaxSyncOffset - time.Millisecond, 2001 * time.Millisecond} {
		err := CheckSyncOffset(d)
		if err == nil || !strings.Contains(err.Error(), "-2000 to 2000 ms") {
			t.Errorf("offset %v: got %v, want a refusal naming -2000 to 2000 ms", d, err)
		}
	}
	for _, k := range []int{64, 160, 320} {
		if err := CheckBitrateKbps(k); err != nil {
			t.Errorf("bitrate %d refused: %v", k, err)
		}
	}
	for _, k := range []int{0, 63, 321} {
		err := CheckBitrateKbps(k)
		if err == nil || !strings.Contains(err.Error(), "64 to 320") {
			t.Errorf("bitrate %d: got %v, want a refusal naming 64 to 320", k, err)
		}
	}
}
