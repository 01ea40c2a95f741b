// Package audiolimits holds the valid ranges of the audio settings and the
// checks that say what a valid value looks like. It is pure Go and links no
// FFmpeg, so the master and the config can check settings without the
// encoder's libraries; internal/audio uses the same checks.
package audiolimits

import (
	"fmt"
	"math"
	"time"
)

const (
	// VolumeMinDB and VolumeMaxDB bound a source's or the master volume;
	// muting is separate from the volume.
	VolumeMinDB = -60.0
	VolumeMaxDB = 20.0
	// MaxSyncOffset bounds a source's sync offset either way: positive
	// delays the source, negative brings it earlier.
	MaxSyncOffset = 2000 * time.Millisecond
	// Bitrates of the AAC encoder in kbit/s.
	MinBitrateKbps     = 64
	MaxBitrateKbps     = 320
	DefaultBitrateKbps = 160
)

// CheckVolumeDB refuses a volume outside VolumeMinDB..VolumeMaxDB, and NaN.
func CheckVolumeDB(db float64) error {
	if math.IsNaN(db) || db < VolumeMinDB || db > VolumeMaxDB {
		return fmt.Errorf("volume %v dB: want a number of dB from %g to %+g (0 leaves the level as it is)", db, VolumeMinDB, VolumeMaxDB)
	}
	return nil
}

// CheckSyncOffset refuses an offset beyond ±MaxSyncOffset.
func CheckSyncOffset(d time.Duration) error {
	if d < -MaxSyncOffset || d > MaxSyncOffset {
		return offsetError(d.Milliseconds())
	}
	return nil
}

// CheckBitrateKbps refuses an AAC bitrate outside MinBitrateKbps..MaxBitrateKbps.
func CheckBitrateKbps(kbps int) error {
	if kbps < MinBitrateKbps || kbps > MaxBitrateKbps {
		return fmt.Errorf("audio bitrate %d kbit/s: want %d to %d (default %d)", kbps, MinBitrateKbps, MaxBitrateKbps, DefaultBitrateKbps)
	}
	return nil
}
