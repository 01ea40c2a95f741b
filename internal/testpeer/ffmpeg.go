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

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// ClipOptions describe a reference H.264 clip; zero fields take defaults.
type ClipOptions struct {
	Seconds       float64 // 3
	FPS           int     // 30
	Width, Height int     // 640x360
	GOP           int     // frames between IDRs; FPS (one second)
	Preset        string  // x264 preset: "ultrafast" (Constrained Baseline); "veryfast" gives High
}

func (o *ClipOptions) defaults() {
	if o.Seconds == 0 {
		o.Seconds = 3
	}
	if o.FPS == 0 {
		o.FPS = 30
	}
	if o.Width == 0 {
		o.Width, o.Height = 640, 360
	}
	if o.GOP == 0 {
		o.GOP = o.FPS
	}
	if o.Preset == "" {
		o.Preset = "ultrafast"
	}
}

// MakeClip encodes a test pattern to an Annex-B .h264 file (yuv420p, no
// B-frames, SPS/PPS before every IDR) and returns its path.
func MakeClip(t testing.TB, opts ClipOptions) string {
	t.Helper()
	Need(t, "ffmpeg")
	opts.defaults()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("clip-%dx%d-%s.h264", opts.Width, opts.Height, opts.Preset))
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", opts.Width, opts.Height, opts.FPS),
		"-t", strconv.FormatFloat(opts.Seconds, 'f', -1, 64),
		"-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", opts.Preset,
		"-g", itoa(opts.GOP), "-keyint_min", itoa(opts.GOP), "-sc_threshold", "0", "-bf", "0",
		"-f", "h264", "-y", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make clip: %v\n%s", err, out)
	}
	return path
}

// AccessUnit is one picture of a clip: NAL units without start codes.
type AccessUnit struct {
	NALUs [][]byte
	PTS   time.Duration // frame index / fps; DTS equals PTS (no B-frames)
	IDR   bool
}

// ReadClip splits an Annex-B file into access units timed at fps.
func ReadClip(t testing.TB, path string, fps int) []AccessUnit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nalus h264.AnnexB
	if err := nalus.Unmarshal(b); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var aus []AccessUnit
	for i, au := range SplitAccessUnits(nalus) {
		aus = append(aus, AccessUnit{
			NALUs: au,
			PTS:   time.Duration(i) * time.Second / time.Duration(fps),
			IDR:   h264.IsRandomAccess(au),
		})
	}
	return aus
}

// SplitAccessUnits groups a NAL unit stream into access units: a new one
// starts at an access unit delimiter, at SPS/PPS/SEI after a picture, or at a
// slice whose first_mb_in_slice is 0.
func SplitAccessUnits(nalus [][]byte) [][][]byte {
	var aus [][][]byte
	var cur [][]byte
	hasPicture := false
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		typ := h264.NALUType(n[0] & 0x1f)
		newAU := false
		switch typ {
		case h264.NALUTypeAccessUnitDelimiter:
			newAU = len(cur) > 0
		case h264.NALUTypeSPS, h264.NALUTypePPS, h264.NALUTypeSEI:
			newAU = hasPicture
		case h264.NALUTypeNonIDR, h264.NALUTypeIDR:
			// first_mb_in_slice is ue(v); it is 0 exactly when its first bit is 1.
			newAU = hasPicture && len(n) > 1 && n[1]&0x80 != 0
		}
		if newAU {
			aus = append(aus, cur)
			cur, hasPicture = nil, false
		}
		cur = append(cur, n)
		if typ == h264.NALUTypeNonIDR || typ == h264.NALUTypeIDR {
			hasPicture = true
		}
	}
	if len(cur) > 0 {
		aus = append(aus, cur)
	}
	return aus
}

// Packet is one packet of a media file as ffprobe sees it.
type Packet struct {
	PTS, DTS time.Duration
	Key      bool
}

// ProbePackets lists the video packets of a file with ffprobe.
func ProbePackets(t testing.TB, path string) []Packet {
	t.Helper()
	return ProbeStreamPackets(t, path, "v:0")
}

// ProbeStreamPackets lists the packets of one stream of a file ("v:0",
// "a:0") with ffprobe.
func ProbeStreamPackets(t testing.TB, path, stream string) []Packet {
	t.Helper()
	Need(t, "ffprobe")
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", stream,
		"-show_entries", "packet=pts_time,dts_time,flags", "-of", "compact=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var pkts []Packet
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.TrimSpace(line) == "" {
			continue // ffprobe's line for a packet of side data only
		}
		var p Packet
		for _, kv := range strings.Split(line, "|") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "pts_time":
				p.PTS = seconds(v)
			case "dts_time":
				p.DTS = seconds(v)
			case "flags":
				p.Key = strings.HasPrefix(v, "K")
			}
		}
		pkts = append(pkts, p)
	}
	return pkts
}

func seconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return -1
	}
	return time.Duration(f*1e6+0.5) * time.Microsecond
}

// PublishClip publishes an Annex-B clip to an RTMP URL with ffmpeg
// (-c copy -f flv), at the clip's frame rate when realtime is set; output
// holds extra output options such as -output_ts_offset.
func PublishClip(t testing.TB, clip string, fps int, url string, realtime bool, output ...string) *Proc {
	t.Helper()
	Need(t, "ffmpeg")
	args := []string{"-hide_banner", "-loglevel", "warning", "-nostdin"}
	if realtime {
		args = append(args, "-re")
	}
	args = append(args, "-framerate", itoa(fps), "-i", clip, "-c", "copy")
	args = append(args, output...)
	args = append(args, "-f", "flv", url)
	return start(t, nil, "ffmpeg", args...)
}

// TestSourceFrames renders n frames of ffmpeg's moving test source
// (testsrc2) at w×h, each 4 bytes per pixel in B,G,R,A order: moving
// content for a screen, drawn once so showing it later costs little.
func TestSourceFrames(t testing.TB, w, h, n int) [][]byte {
	t.Helper()
	Need(t, "ffmpeg")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", w, h),
		"-frames:v", itoa(n), "-pix_fmt", "bgra", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("render test source: %v", err)
	}
	size := 4 * w * h
	if len(out) != n*size {
		t.Fatalf("render test source: %d bytes, want %d", len(out), n*size)
	}
	frames := make([][]byte, n)
	for i := range frames {
		frames[i] = out[i*size : (i+1)*size : (i+1)*size]
	}
	return frames
}

// PublishSRT publishes seconds of a moving test picture (640×360, 30 fps,
// H.264) and a 440 Hz tone (AAC) as MPEG-TS to an SRT URL in caller mode,
// in real time, as OBS or a second machine would.
func PublishSRT(t testing.TB, url string, seconds int) *Proc {
	t.Helper()
	Need(t, "ffmpeg")
	d := itoa(seconds)
	return start(t, nil, "ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration="+d,
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration="+d,
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", "30",
		"-c:a", "aac", "-b:a", "128k", "-f", "mpegts", url)
}
