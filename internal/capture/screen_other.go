//go:build !linux

package capture

import (
	"errors"
	"image"

	"github.com/onair-studio/onair/internal/source"
)

// ErrNoDisplay is returned when no X display is configured.
var ErrNoDisplay = errors.New("screen capture: no X display (DISPLAY is not set)")

// Displays is only implemented for X11 on Linux.
func Displays() ([]image.Rectangle, error) {
	return nil, errors.New("screen capture: only X11 on Linux is supported")
}

func openScreen(spec source.Spec) (Source, error) {
	return nil, errors.New("screen capture: only X11 on Linux is supported")
}

// UsesSHM reports whether src captures through MIT-SHM.
func UsesSHM(src Source) bool { return false }
