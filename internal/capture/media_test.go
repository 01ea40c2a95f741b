package capture

import (
	"image"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The webcam's own part is how its device opens; decoding and pacing are
// the media file's, tested with files. Without a camera there is nothing
// to open.
func TestWebcam(t *testing.T) {
	devices, _ := filepath.Glob("/dev/video*")
	if len(devices) == 0 {
		t.Skip("no V4L2 device (/dev/video*) on this machine: the webcam's shared decode path is tested with media files")
	}
	src, err := Open("webcam:" + devices[0])
	if err != nil {
		t.Fatalf("webcam %s: %v", devices[0], err)
	}
	defer src.Close()
	if s := src.Size(); s.X <= 0 || s.Y <= 0 {
		t.Fatalf("webcam size %v", s)
	}
	dst := image.NewRGBA(image.Rect(0, 0, 64, 48))
	if err := src.Read(dst, 0, time.Now()); err != nil {
		t.Fatalf("webcam read: %v", err)
	}
}

func TestWebcamMissingDevice(t *testing.T) {
	_, err := Open("webcam:{size=640x480 fps=30 format=mjpeg}/dev/video-onair-missing")
	if err == nil || !strings.Contains(err.Error(), "/dev/video-onair-missing") {
		t.Fatalf("a missing camera: got %v, want an error naming the device", err)
	}
}
