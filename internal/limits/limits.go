// Package limits holds the bounds OnAir puts on sizes and rates that come
// from users, plugins and children, each in one place, so the config file,
// the Control API, `master ctl` and the children all accept the same values.
// It imports nothing but the standard library: the master uses it without
// linking the codec.
package limits

import "fmt"

// Video bitrate in kbit/s, for the program and every rendition.
const (
	MinBitrateKbps = 100
	MaxBitrateKbps = 100000
)

// CheckBitrate says whether kbps is a video bitrate OnAir accepts.
func CheckBitrate(kbps int) error {
	if kbps < MinBitrateKbps || kbps > MaxBitrateKbps {
		return fmt.Errorf("%d kbit/s is outside %d..%d", kbps, MinBitrateKbps, MaxBitrateKbps)
	}
	return nil
}

// The largest output (8K UHD). Everything that works at the output size
// (plugin overlays among them) takes every size up to this.
const (
	MaxOutputWidth  = 7680
	MaxOutputHeight = 4320
)

// MaxFPS is the highest frame rate of the program, a rendition or a webcam.
const MaxFPS = 240

// MaxPictureSide is the longest side of any picture OnAir takes: a layer,
// an overlay, a slate or a frame to convert (libx264 takes no more).
const MaxPictureSide = 16384

// PictureSizeOK says whether w×h is a picture size OnAir takes.
func PictureSizeOK(w, h int) bool {
	return w > 0 && h > 0 && w <= MaxPictureSide && h <= MaxPictureSide
}

// MaxLineBytes is how much of one line a child or plugin writes to stderr is
// kept; the rest of the line is dropped, so a process that writes without
// newlines cannot grow its reader's memory.
const MaxLineBytes = 4096
