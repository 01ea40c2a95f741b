package encoder

import (
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/onair-studio/onair/internal/codec"
	"github.com/onair-studio/onair/internal/rtsp"
	"github.com/onair-studio/onair/stub/pb"
)

// received is what the return path got on one path.
type received struct {
	pts      []time.Duration
	captured []time.Time
	idr      []bool
}

// sink is a master's side of the return path, recording per path.
type sink struct {
	mu    sync.Mutex
	paths map[string]*received
}

func (s *sink) SourceStarted(path string, _, _ []byte) {}
func (s *sink) SourceStopped(path string)              {}
func (s *sink) AccessUnit(path string, au rtsp.AccessUnit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.paths[path]
	if r == nil {
		r = &received{}
		s.paths[path] = r
	}
	t, _ := codec.ParseCaptureTime(au.NALUs)
	r.pts, r.captured = append(r.pts, au.PTS), append(r.captured, t)
	r.idr = append(r.idr, h264.IsRandomAccess(au.NALUs))
}

func (s *sink) get(path string) received {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.paths[path]; r != nil {
		return received{append([]time.Duration(nil), r.pts...), append([]time.Time(nil), r.captured...), append([]bool(nil), r.idr...)}
	}
	return received{}
}

// The pipeline's two goroutines (compose and convert, then encode and
// publish) deliver every frame of the program and of a rendition, in
// order, on the frame clock, stamped with its capture time, while status
// is read and keyframes are forced from other goroutines (run under -race).
func TestPipelineDeliversInOrder(t *testing.T) {
	s := &sink{paths: map[string]*received{}}
	srv, err := rtsp.NewServer("127.0.0.1:0", rtsp.RandomCredentials("encoder"), rtsp.RandomCredentials("monitor"), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const fps = 30
	cfg := &pb.EncoderConfig{Source: "pattern", Width: 320, Height: 180, Fps: fps, BitrateKbps: 500, KeyframeSeconds: 10,
		Backend: codec.BackendX264, Preset: "ultrafast", ReturnUrl: srv.PublishURL("program"),
		Renditions: []*pb.Rendition{{Name: "low", Width: 160, Height: 90, BitrateKbps: 200}}}
	p, _, err := startPipeline(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			p.close()
		}
	}()

	// Status and a forced keyframe from other goroutines while it runs.
	var forcedAt time.Time
	deadline := time.Now().Add(20 * time.Second)
	for len(s.get("program").pts) < fps || len(s.get(RenditionPath("low")).pts) < fps {
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: program %d frames, rendition %d", len(s.get("program").pts), len(s.get(RenditionPath("low")).pts))
		}
		var st pb.EncoderStatus
		p.fill(&st)
		if forcedAt.IsZero() && st.GetEncodedFrames() > 5 {
			forcedAt = time.Now()
			p.forceKeyframe()
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	p.close()
	closed = true

	program, low := s.get("program"), s.get(RenditionPath("low"))
	for name, r := range map[string]received{"program": program, "rendition": low} {
		for i := 1; i < len(r.pts); i++ {
			// The return path carries a 90 kHz clock: slots round to it.
			slot := (r.pts[i] + time.Second/fps/2) / (time.Second / fps) * (time.Second / fps)
			if r.pts[i] <= r.pts[i-1] || (r.pts[i]-slot).Abs() > time.Millisecond {
				t.Fatalf("%s: frame %d has PTS %v after %v: not in order on the %d fps clock", name, i, r.pts[i], r.pts[i-1], fps)
			}
			if !r.captured[i].After(r.captured[i-1]) {
				t.Fatalf("%s: frame %d captured at %v, not after frame %d at %v", name, i, r.captured[i], i-1, r.captured[i-1])
			}
		}
		keyframes := 0
		for i, idr := range r.idr {
			if idr && i > 0 && r.captured[i].After(forcedAt) {
				keyframes++
			}
		}
		if keyframes == 0 {
			t.Errorf("%s: no keyframe after the forced one (GOP 10 s)", name)
		}
	}
	// The same picture has the same PTS and capture time in both tracks.
	at := map[time.Duration]time.Time{}
	for i, pts := range program.pts {
		at[pts] = program.captured[i]
	}
	for i, pts := range low.pts {
		if c, ok := at[pts]; ok && !c.Equal(low.captured[i]) {
			t.Fatalf("PTS %v: program captured at %v, rendition at %v", pts, c, low.captured[i])
		}
	}
}
