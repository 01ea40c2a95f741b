package record

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/internal/testpeer"
)

const fps = 30

// probe is what ffprobe reports about a recorded file.
type probe struct {
	Packets       int
	Frames        int // decoded
	Width, Height int
	Duration      time.Duration
}

func probeFile(t *testing.T, path string) probe {
	t.Helper()
	testpeer.Need(t, "ffprobe")
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
		"-count_packets", "-count_frames",
		"-show_entries", "stream=nb_read_packets,nb_read_frames,width,height:format=duration",
		"-of", "json", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	var res struct {
		Streams []struct {
			Packets string `json:"nb_read_packets"`
			Frames  string `json:"nb_read_frames"`
			Width   int    `json:"width"`
			Height  int    `json:"height"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	if len(res.Streams) != 1 {
		t.Fatalf("ffprobe %s: %d video streams\n%s", path, len(res.Streams), out)
	}
	s := res.Streams[0]
	p := probe{Width: s.Width, Height: s.Height}
	p.Packets, _ = strconv.Atoi(s.Packets)
	p.Frames, _ = strconv.Atoi(s.Frames)
	d, err := strconv.ParseFloat(res.Format.Duration, 64)
	if err != nil {
		t.Fatalf("ffprobe %s: no duration\n%s", path, out)
	}
	p.Duration = time.Duration(d * float64(time.Second))
	return p
}

// decodeErrors decodes the whole file with ffmpeg and returns what it
// printed at level error: nothing for a clean file.
func decodeErrors(t *testing.T, path string) string {
	t.Helper()
	testpeer.Need(t, "ffmpeg")
	out, _ := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	return strings.TrimSpace(string(out))
}

// checkPlayable asserts that ffprobe reads the file and ffmpeg decodes it
// without a word.
func checkPlayable(t *testing.T, path string) probe {
	t.Helper()
	if msg := decodeErrors(t, path); msg != "" {
		t.Errorf("ffmpeg -v error %s printed:\n%s", path, msg)
	}
	return probeFile(t, path)
}

// clip is a reference clip's access units and parameter sets.
type clip struct {
	aus      []testpeer.AccessUnit
	sps, pps []byte
}

func loadClip(t *testing.T, opts testpeer.ClipOptions) clip {
	t.Helper()
	if opts.FPS == 0 {
		opts.FPS = fps
	}
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, opts), opts.FPS)
	c := clip{aus: aus}
	for _, n := range aus[0].NALUs {
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			c.sps = n
		case h264.NALUTypePPS:
			c.pps = n
		}
	}
	if c.sps == nil || c.pps == nil {
		t.Fatal("clip has no SPS/PPS in front of its first keyframe")
	}
	return c
}

// withoutParams strips in-band SPS/PPS, as an encoder with global headers
// sends its stream: the parameter sets then come only with SourceStarted.
func (c clip) withoutParams() clip {
	out := clip{sps: c.sps, pps: c.pps}
	for _, au := range c.aus {
		var nalus [][]byte
		for _, n := range au.NALUs {
			if typ := h264.NALUType(n[0] & 0x1f); typ != h264.NALUTypeSPS && typ != h264.NALUTypePPS {
				nalus = append(nalus, n)
			}
		}
		au.NALUs = nalus
		out.aus = append(out.aus, au)
	}
	return out
}

// feeder plays access units into a Sink like the RTSP server does, and
// measures how long each call takes.
type feeder struct {
	sink stream.Sink
	path string
	// realtime paces frames at their PTS from the first frame's arrival.
	realtime bool

	mu      sync.Mutex
	calls   int
	maxCall time.Duration
}

func (f *feeder) call(fn func()) {
	start := time.Now()
	fn()
	d := time.Since(start)
	f.mu.Lock()
	f.calls++
	f.maxCall = max(f.maxCall, d)
	f.mu.Unlock()
}

func (f *feeder) start(sps, pps []byte) {
	f.call(func() { f.sink.SourceStarted(f.path, stream.Tracks{Video: &stream.H264{SPS: sps, PPS: pps}}) })
}

func (f *feeder) stop() { f.call(func() { f.sink.SourceStopped(f.path) }) }

// feed sends aus[from:to]; at is the wall time of frame 0 (for realtime).
// each, if set, runs after every frame with its index.
func (f *feeder) feed(aus []testpeer.AccessUnit, from, to int, at time.Time, each func(i int)) {
	for i := from; i < to; i++ {
		if f.realtime {
			time.Sleep(time.Until(at.Add(aus[i].PTS)))
		}
		au := stream.VideoUnit(aus[i].NALUs, aus[i].PTS)
		f.call(func() { f.sink.Unit(f.path, au) })
		if each != nil {
			each(i)
		}
	}
}

// blockedCall is the Sink call time that means the call waited for the
// disk: the stalls these tests make last seconds, while a call that only
// queues takes microseconds, and a loaded two-core machine can still stretch
// it by tens of milliseconds. Between the two, the bound cannot flake.
const blockedCall = time.Second

func (f *feeder) slowest() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxCall
}

// ptsSteps returns the steps between consecutive packets' PTS.
func ptsSteps(pkts []testpeer.Packet) []time.Duration {
	var steps []time.Duration
	for i := 1; i < len(pkts); i++ {
		steps = append(steps, pkts[i].PTS-pkts[i-1].PTS)
	}
	return steps
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func within(a, b, tol time.Duration) bool {
	d := a - b
	return d <= tol && d >= -tol
}
