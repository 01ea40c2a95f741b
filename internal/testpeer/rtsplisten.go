package testpeer

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// FFmpegRTSP is FFmpeg as an RTSP server for one publisher
// (ffmpeg -rtsp_flags listen): it accepts ANNOUNCE and RECORD and copies
// every track into a Matroska file, an independent check of what a
// publisher sends.
type FFmpegRTSP struct {
	*Proc
	URL  string // rtsp://127.0.0.1:PORT/PATH
	File string
}

// StartFFmpegRTSP listens on a free loopback port for a publisher of path;
// the process is stopped when the test ends. It ends by itself, the file
// complete, when the publisher tears its session down.
func StartFFmpegRTSP(t testing.TB, path string) *FFmpegRTSP {
	t.Helper()
	Need(t, "ffmpeg")
	port := FreePort(t)
	s := &FFmpegRTSP{URL: fmt.Sprintf("rtsp://127.0.0.1:%d/%s", port, path), File: filepath.Join(t.TempDir(), "recorded.mkv")}
	s.Proc = start(t, nil, "ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
		"-rtsp_flags", "listen", "-i", s.URL, "-c", "copy", "-f", "matroska", "-y", s.File)
	if !Eventually(10*time.Second, func() bool { return listening(port) }) {
		t.Fatalf("ffmpeg's RTSP server did not listen on port %d:\n%s", port, s.Output())
	}
	return s
}
