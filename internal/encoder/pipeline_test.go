package encoder

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/onair-studio/onair/internal/capture/xvfb"
	"github.com/onair-studio/onair/internal/codec"
	"github.com/onair-studio/onair/internal/rtsp"
	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// received is what the return path got on one path.
type received struct {
	pts      []time.Duration
	captured []time.Time
	idr      []bool
	annexB   []byte // the access units, in order
}

// sink is a master's side of the return path, recording per path.
type sink struct {
	mu    sync.Mutex
	paths map[string]*received
}

func (s *sink) SourceStarted(path string, _ stream.Tracks) {}
func (s *sink) SourceStopped(path string)                  {}
func (s *sink) Unit(path string, au stream.Unit) {
	if au.Kind != stream.Video {
		return
	}
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
	if b, err := h264.AnnexB(au.NALUs).Marshal(); err == nil {
		r.annexB = append(r.annexB, b...)
	}
}

// returnPath is the master's side of the return path for a test: an RTSP
// server whose sink records what arrives. It closes when the test ends.
func returnPath(t *testing.T) (*sink, *rtsp.Server) {
	t.Helper()
	s := &sink{paths: map[string]*received{}}
	srv, err := rtsp.NewServer("127.0.0.1:0", rtsp.RandomCredentials("encoder"), rtsp.RandomCredentials("monitor"), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return s, srv
}

// quietLog logs a pipeline's warnings and errors only.
func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func (s *sink) get(path string) received {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.paths[path]; r != nil {
		return received{append([]time.Duration(nil), r.pts...), append([]time.Time(nil), r.captured...),
			append([]bool(nil), r.idr...), append([]byte(nil), r.annexB...)}
	}
	return received{}
}

// forcedKey is the index of the first keyframe (after the first frame) on
// a picture composed after forcedAt or while it was being composed, or -1.
func forcedKey(r received, forcedAt time.Time) int {
	for i, idr := range r.idr {
		if idr && i > 0 && r.captured[i].After(forcedAt.Add(-time.Second/30)) {
			return i
		}
	}
	return -1
}

// The pipeline's two goroutines (compose and convert, then encode and
// publish) deliver every frame of the program and of a rendition, in
// order, on the frame clock, stamped with its capture time, while status
// is read and keyframes are forced from other goroutines (run under -race).
func TestPipelineDeliversInOrder(t *testing.T) {
	s, srv := returnPath(t)
	const fps = 30
	cfg := &pb.EncoderConfig{Source: "pattern", Width: 320, Height: 180, Fps: fps, BitrateKbps: 500, KeyframeSeconds: 10,
		Backend: codec.BackendX264, Preset: "ultrafast", ReturnUrl: srv.PublishURL("program"),
		Renditions: []*pb.Rendition{{Name: "low", Width: 160, Height: 90, BitrateKbps: 200}}}
	p, _, err := startPipeline(cfg, quietLog(), nil)
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
	if !testpeer.Eventually(20*time.Second, func() bool {
		var st pb.EncoderStatus
		p.fill(&st)
		if forcedAt.IsZero() && st.GetEncodedFrames() > 5 {
			forcedAt = time.Now()
			p.forceKeyframe()
		}
		return len(s.get("program").pts) >= fps && len(s.get(rtsp.RenditionPath("low")).pts) >= fps
	}) {
		t.Fatalf("after 20 s: program %d frames, rendition %d", len(s.get("program").pts), len(s.get(rtsp.RenditionPath("low")).pts))
	}
	p.close()
	closed = true

	program, low := s.get("program"), s.get(rtsp.RenditionPath("low"))
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
		if forcedKey(r, forcedAt) < 0 {
			t.Errorf("%s: no keyframe after the forced one (GOP 10 s)", name)
		}
	}
	// Both tracks have the forced keyframe on the same picture.
	if i, j := forcedKey(program, forcedAt), forcedKey(low, forcedAt); i >= 0 && j >= 0 && program.pts[i] != low.pts[j] {
		t.Errorf("forced keyframe at PTS %v in the program, %v in the rendition", program.pts[i], low.pts[j])
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

// The screen, passed from capture to the encoder without a conversion to
// RGBA and converted where the X server wrote it, keeps its colours: the program decoded by ffmpeg shows what the X
// screen shows, for the program and for a rendition scaled from it.
func TestScreenColoursSurviveEncoding(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	const w, h = 320, 180
	srv, err := xvfb.Start(w, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	// Four flat quadrants, B,G,R,X in memory.
	quadrant := [4][3]byte{{200, 30, 30}, {30, 200, 30}, {30, 30, 200}, {220, 220, 40}} // R,G,B
	shown := make([]byte, 4*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			q := quadrant[2*(2*y/h)+2*x/w]
			copy(shown[4*(y*w+x):], []byte{q[2], q[1], q[0], 255})
		}
	}
	anim, err := srv.Animate([][]byte{shown}, w, h, 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(anim.Close)
	t.Setenv("DISPLAY", srv.Display)

	s, rs := returnPath(t)
	cfg := &pb.EncoderConfig{Source: "screen", Width: w, Height: h, Fps: 30, BitrateKbps: 2000, KeyframeSeconds: 1,
		Backend: codec.BackendX264, Preset: "ultrafast", ReturnUrl: rs.PublishURL("program"),
		Renditions: []*pb.Rendition{{Name: "half", Width: w / 2, Height: h / 2, BitrateKbps: 500}}}
	p, _, err := startPipeline(cfg, quietLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !testpeer.Eventually(20*time.Second, func() bool {
		return len(s.get("program").pts) >= 15 && len(s.get(rtsp.RenditionPath("half")).pts) >= 15
	}) {
		p.close()
		t.Fatal("no frames after 20 s")
	}
	var st pb.EncoderStatus
	p.fill(&st)
	p.close()
	if st.GetZeroCopyFrames() == 0 {
		t.Errorf("of %d frames, none was converted straight from the shared memory the X server wrote", st.GetCapturedFrames())
	}

	for _, c := range []struct {
		path string
		w, h int
	}{{"program", w, h}, {rtsp.RenditionPath("half"), w / 2, h / 2}} {
		file := filepath.Join(t.TempDir(), "out.h264")
		if err := os.WriteFile(file, s.get(c.path).annexB, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("ffmpeg", "-v", "error", "-i", file, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-").Output()
		if err != nil || len(out) != 3*c.w*c.h {
			t.Fatalf("%s: decoding: %v (%d bytes)", c.path, err, len(out))
		}
		for i, q := range quadrant {
			// The middle of each quadrant, away from edges blurred by 4:2:0.
			x, y := (2*(i%2)+1)*c.w/4, (2*(i/2)+1)*c.h/4
			px := out[3*(y*c.w+x):][:3]
			for ch := range 3 {
				if d := int(px[ch]) - int(q[ch]); d < -12 || d > 12 {
					t.Errorf("%s: quadrant %d at %d,%d decodes as R,G,B %v, the screen shows %v", c.path, i, x, y, px, q)
					break
				}
			}
		}
	}
}

// A frame the encoder is late with (here its send, held up for close to
// four frame slots, as a keyframe or a burst of other work on the machine
// would) delays the next ones instead of skipping them: they wait in the
// pipeline's queue and go as soon as the encoder is free again.
func TestLateFrameDelaysRatherThanSkips(t *testing.T) {
	s, srv := returnPath(t)
	const fps = 30
	cfg := &pb.EncoderConfig{Source: "pattern", Width: 320, Height: 180, Fps: fps, BitrateKbps: 500, KeyframeSeconds: 2,
		Backend: codec.BackendX264, Preset: "ultrafast", ReturnUrl: srv.PublishURL("program")}
	p, _, err := startPipeline(cfg, quietLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	delivered := func() int { return len(s.get("program").pts) }
	if !testpeer.Eventually(20*time.Second, func() bool { return delivered() >= fps }) {
		t.Fatalf("after 20 s: %d frames on the return path", delivered())
	}
	// Slots are 33 ms. The stall starts just after a frame was sent, so the
	// encoder is held up at its next send for about stall-33 ms: the
	// frames of the next five slots have to wait somewhere, or be skipped.
	// With two pictures, as before, two are skipped; four pictures take
	// them all, and one skip is allowed for a loaded machine's lateness.
	const stall = 210 * time.Millisecond
	last := delivered()
	testpeer.Await(t, 20*time.Second, "a frame on the return path", func() bool { return delivered() > last })
	before, n := p.comp.Stats(), delivered()
	p.program.pubMu.Lock()
	time.Sleep(stall) // the fault: a send that takes this long
	p.program.pubMu.Unlock()
	if !testpeer.Eventually(20*time.Second, func() bool { return delivered() >= n+2*fps }) {
		t.Fatalf("after 20 s: %d frames on the return path since the stall", delivered()-n)
	}
	after := p.comp.Stats()
	if d := after.Skipped - before.Skipped; d > 1 {
		t.Errorf("%d frames skipped for a send held up %v, want none (one at most on a loaded machine)", d, stall)
	}
	if composed, got := after.Composed-before.Composed, delivered()-n; got < int(composed)-int(Pictures) {
		t.Errorf("%d frames composed since the stall, %d delivered", composed, got)
	}
}
