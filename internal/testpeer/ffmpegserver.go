package testpeer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FFmpegServer is FFmpeg's own RTMP server (ffmpeg -listen 1): it takes one
// publisher and copies its stream into an FLV file. It is a strict, simple
// peer that reads the client's messages in order and answers them as they
// come, unlike nginx-rtmp.
type FFmpegServer struct {
	*Proc
	Port int
	File string // the FLV file the published stream goes to
	url  string
}

// StartFFmpegServer listens for one publisher of rtmp://127.0.0.1:PORT/app/name
// on a free loopback port; the process is stopped when the test ends. It
// returns once the port is listening; it is not probed by connecting, as
// the server takes exactly one connection.
func StartFFmpegServer(t testing.TB, app, name string) *FFmpegServer {
	t.Helper()
	Need(t, "ffmpeg")
	s := &FFmpegServer{Port: FreePort(t), File: filepath.Join(t.TempDir(), name+".flv")}
	s.url = fmt.Sprintf("rtmp://127.0.0.1:%d/%s/%s", s.Port, app, name)
	s.Proc = start(t, nil, "ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
		"-listen", "1", "-i", s.url, "-c", "copy", "-f", "flv", "-y", s.File)
	ok := Eventually(10*time.Second, func() bool {
		select {
		case <-s.Done():
			return true
		default:
		}
		return listening(s.Port)
	})
	select {
	case <-s.Done():
		t.Fatalf("ffmpeg's RTMP server exited: %v\n%s", s.err, s.Output())
	default:
	}
	if !ok {
		t.Fatalf("ffmpeg's RTMP server did not listen on port %d:\n%s", s.Port, s.Output())
	}
	return s
}

// URL is the address to publish to.
func (s *FFmpegServer) URL() string { return s.url }

// listening reports whether a loopback TCP socket listens on port, read from
// /proc/net/tcp so that nothing connects to it.
func listening(port int) bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		// sl local_address rem_address st ...; state 0A is LISTEN.
		if len(f) > 3 && f[1] == local && f[3] == "0A" {
			return true
		}
	}
	return false
}

// Decoded is what decoding a media file's first video stream found.
type Decoded struct {
	Codec         string
	Width, Height int
	Frames        int    // frames decoded
	Errors        string // what the decoder reported at level error, if anything
}

// DecodeFile decodes every frame of path's first video stream with ffprobe.
func DecodeFile(t testing.TB, path string) Decoded {
	t.Helper()
	Need(t, "ffprobe")
	cmd := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "default=noprint_wrappers=1", path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, stderr.String())
	}
	d := Decoded{Errors: strings.TrimSpace(stderr.String())}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "codec_name":
			d.Codec = v
		case "width":
			d.Width, _ = strconv.Atoi(v)
		case "height":
			d.Height, _ = strconv.Atoi(v)
		case "nb_read_frames":
			d.Frames, _ = strconv.Atoi(v)
		}
	}
	return d
}
