package capture

import (
	"fmt"
	"strconv"
	"time"

	"github.com/onair-studio/onair/internal/media/decode"
	"github.com/onair-studio/onair/internal/source"
)

// SoundReader is a source with sound of its own (a media file).
type SoundReader interface {
	// ReadSound fills dst (48 kHz interleaved stereo) with what plays at
	// wall-clock time at, and reports whether there was any. It is safe
	// beside Read and Close.
	ReadSound(dst []float32, at time.Time) bool
	// HasSound reports whether the source has a sound track.
	HasSound() bool
}

// mediaSource plays a media file or a webcam (see package decode).
type mediaSource struct {
	*decode.Player
	spec source.Spec
}

func (s mediaSource) String() string { return s.spec.String() }

// openMedia opens a file or webcam source; a webcam differs only in how
// its input opens.
func openMedia(spec source.Spec) (*mediaSource, error) {
	in, opts := decode.Input{URL: spec.Path}, decode.Options{Loop: !spec.Once}
	if spec.Kind == source.KindWebcam {
		in, opts = webcamInput(spec), decode.Options{Live: true}
	}
	p, err := decode.Play(in, opts)
	if err != nil {
		return nil, fmt.Errorf("%s source: %w", spec.Kind, err)
	}
	return &mediaSource{Player: p, spec: spec}, nil
}

// webcamInput is libavdevice's V4L2 input with what the source asks of
// the camera.
func webcamInput(spec source.Spec) decode.Input {
	opts := map[string]string{}
	if s := spec.CamSize; s.X > 0 {
		opts["video_size"] = fmt.Sprintf("%dx%d", s.X, s.Y)
	}
	if spec.CamFPS > 0 {
		opts["framerate"] = strconv.Itoa(spec.CamFPS)
	}
	switch spec.CamFormat {
	case source.WebcamMJPEG:
		opts["input_format"] = "mjpeg"
	case source.WebcamYUYV:
		opts["input_format"] = "yuyv422"
	}
	return decode.Input{URL: spec.Path, Format: "v4l2", Options: opts}
}
