package source

import (
	"fmt"
	"image"
	"strconv"
	"strings"

	"github.com/onair-studio/onair/internal/limits"
)

// Media file and webcam sources:
//
//	file:/path/clip.mp4           an mp4, mkv, mov or webm file, looped
//	file:{once}/path/intro.mp4    played once, then its last picture holds
//	webcam:/dev/video0            a V4L2 camera at its own size and rate
//	webcam:{size=1280x720 fps=30 format=mjpeg}/dev/video0
//
// A webcam's format is mjpeg or yuyv (the camera's default when left out).
const (
	KindFile   Kind = "file"
	KindWebcam Kind = "webcam"
)

// The webcam formats, as V4L2 input formats.
const (
	WebcamMJPEG = "mjpeg"
	WebcamYUYV  = "yuyv"
)

// cutOptions splits "{a b=c}rest" into its options and the rest; without
// braces there are no options.
func cutOptions(arg string) (opts []string, rest string, err error) {
	if !strings.HasPrefix(arg, "{") {
		return nil, arg, nil
	}
	inner, rest, ok := strings.Cut(arg[1:], "}")
	if !ok {
		return nil, "", fmt.Errorf("options %q: no closing }", arg)
	}
	return strings.Fields(inner), rest, nil
}

// parseFile fills sp from the argument of a file source.
func parseFile(sp *Spec, arg string) error {
	opts, path, err := cutOptions(arg)
	if err != nil {
		return err
	}
	for _, o := range opts {
		switch o {
		case "loop":
			sp.Once = false
		case "once":
			sp.Once = true
		default:
			return fmt.Errorf("unknown option %q (want loop or once)", o)
		}
	}
	if path == "" {
		return fmt.Errorf("file needs a media file, as file:/path/clip.mp4")
	}
	sp.Path = path
	return nil
}

// parseWebcam fills sp from the argument of a webcam source.
func parseWebcam(sp *Spec, arg string) error {
	opts, dev, err := cutOptions(arg)
	if err != nil {
		return err
	}
	for _, kv := range opts {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "size":
			ws, hs, ok := strings.Cut(v, "x")
			w, errW := strconv.Atoi(ws)
			h, errH := strconv.Atoi(hs)
			if !ok || errW != nil || errH != nil || !limits.PictureSizeOK(w, h) {
				return fmt.Errorf("size %q is not WxH from 1x1 to %dx%[2]d", v, limits.MaxPictureSide)
			}
			sp.CamSize = image.Pt(w, h)
		case "fps":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > limits.MaxFPS {
				return fmt.Errorf("fps %q is not a frame rate from 1 to %d", v, limits.MaxFPS)
			}
			sp.CamFPS = n
		case "format":
			if v != WebcamMJPEG && v != WebcamYUYV {
				return fmt.Errorf("format %q: want %s or %s", v, WebcamMJPEG, WebcamYUYV)
			}
			sp.CamFormat = v
		default:
			return fmt.Errorf("unknown option %q (want size, fps, format)", k)
		}
	}
	if !strings.HasPrefix(dev, "/dev/") {
		return fmt.Errorf("webcam needs a V4L2 device, as webcam:/dev/video0")
	}
	sp.Path = dev
	return nil
}

// fileString is the source string of a file spec.
func (sp Spec) fileString() string {
	switch {
	case sp.Once:
		return "file:{once}" + sp.Path
	case strings.HasPrefix(sp.Path, "{"): // else read as options
		return "file:{loop}" + sp.Path
	}
	return "file:" + sp.Path
}

// webcamString is the source string of a webcam spec.
func (sp Spec) webcamString() string {
	var opts []string
	if sp.CamSize != (image.Point{}) {
		opts = append(opts, fmt.Sprintf("size=%dx%d", sp.CamSize.X, sp.CamSize.Y))
	}
	if sp.CamFPS != 0 {
		opts = append(opts, "fps="+strconv.Itoa(sp.CamFPS))
	}
	if sp.CamFormat != "" {
		opts = append(opts, "format="+sp.CamFormat)
	}
	if len(opts) == 0 {
		return "webcam:" + sp.Path
	}
	return "webcam:{" + strings.Join(opts, " ") + "}" + sp.Path
}
