package testpeer

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// MakeMP4 writes dir/name: seconds of test pattern at w×h and 30 fps with
// a 1 kHz tone (AAC), keyframes every second, as a recording would be.
func MakeMP4(t testing.TB, dir, name string, seconds float64, w, h int) string {
	t.Helper()
	Need(t, "ffmpeg")
	path := filepath.Join(dir, name)
	secs := strconv.FormatFloat(seconds, 'f', -1, 64)
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", w, h),
		"-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
		"-t", secs, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
		"-c:a", "aac", "-b:a", "96k", "-y", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", name, err, out)
	}
	return path
}

// Video is a media file's first video stream as ffprobe decodes it.
type Video struct {
	Width, Height int
	Seconds       float64 // the container's duration
	Frames        int     // decoded frames
	Audio         bool    // the file has a sound stream too
}

// ProbeVideo decodes path's video with ffprobe (counting its frames).
func ProbeVideo(t testing.TB, path string) Video {
	t.Helper()
	Need(t, "ffprobe")
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=width,height,nb_read_frames:format=duration", "-of", "default=nw=1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	var v Video
	for _, line := range strings.Split(string(out), "\n") {
		k, val, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "width":
			v.Width = atoi(val)
		case "height":
			v.Height = atoi(val)
		case "nb_read_frames":
			v.Frames = atoi(val)
		case "duration":
			v.Seconds, _ = strconv.ParseFloat(val, 64)
		}
	}
	for _, s := range ProbeStreams(t, path) {
		v.Audio = v.Audio || s.Type == "audio"
	}
	return v
}
