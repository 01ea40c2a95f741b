package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/onair-studio/onair/internal/capture"
	"github.com/onair-studio/onair/internal/codec"
	"github.com/onair-studio/onair/internal/rtsp"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// monitorFrame is one access unit as a monitor viewer received it.
type monitorFrame struct {
	au       [][]byte
	frameNo  int64 // from the RTP timestamp, which is the encoder's frame slot
	captured time.Time
	hasSEI   bool
}

// readMonitor plays the master's monitor and returns n access units from the
// first keyframe on.
func readMonitor(t *testing.T, m *testpeer.Master, n, fps int) []monitorFrame {
	t.Helper()
	url, err := m.Ctl("monitor-url")
	if err != nil {
		t.Fatalf("monitor-url: %v %s", err, url)
	}
	var (
		mu     sync.Mutex
		frames []monitorFrame
		done   = make(chan struct{})
	)
	player, err := rtsp.Play(strings.TrimSpace(url), func(au rtsp.AccessUnit, rtpTime uint32) {
		mu.Lock()
		defer mu.Unlock()
		if len(frames) == n || (len(frames) == 0 && !h264.IsRandomAccess(au.NALUs)) {
			return
		}
		captured, ok := codec.ParseCaptureTime(au.NALUs)
		frames = append(frames, monitorFrame{au: au.NALUs, frameNo: int64(rtpTime) * int64(fps) / 90000, captured: captured, hasSEI: ok})
		if len(frames) == n {
			close(done)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer player.Close()
	select {
	case <-done:
	case <-time.After(time.Duration(n/fps+20) * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("monitor gave %d of %d frames", len(frames), n)
	}
	mu.Lock()
	defer mu.Unlock()
	return frames
}

func ffprobe(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", append([]string{"-v", "error"}, append(args, path)...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// psnr compares two same-sized images over R, G and B.
func psnr(a, b *image.RGBA) float64 {
	var sum float64
	for i := 0; i < len(a.Pix); i += 4 {
		for c := 0; c < 3; c++ {
			d := float64(a.Pix[i+c]) - float64(b.Pix[i+c])
			sum += d * d
		}
	}
	mse := sum / float64(len(a.Pix)/4*3)
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}

// 300 frames of the test pattern reach a monitor viewer intact: count, size,
// profile, no decode errors, a capture time in every frame, and a decoded
// frame that matches the pattern the same code renders.
func TestPatternOnMonitor(t *testing.T) {
	t.Parallel()
	const fps, frames = 30, 300
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "640", "-height", "360", "-fps", strconv.Itoa(fps))
	m.AwaitConfigured(10*time.Second, "encoder")
	got := readMonitor(t, m, frames, fps)

	var stream bytes.Buffer
	for i, f := range got {
		if !f.hasSEI {
			t.Fatalf("frame %d has no capture-time SEI", i)
		}
		if i > 0 && !f.captured.After(got[i-1].captured) {
			t.Fatalf("capture time of frame %d (%v) is not after frame %d's (%v)", i, f.captured, i-1, got[i-1].captured)
		}
		b, err := h264.AnnexB(f.au).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		stream.Write(b)
	}
	path := filepath.Join(t.TempDir(), "program.h264")
	if err := os.WriteFile(path, stream.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if info := ffprobe(t, path, "-count_frames", "-select_streams", "v",
		"-show_entries", "stream=codec_name,profile,width,height,nb_read_frames", "-of", "csv=p=0"); info != "h264,High,640,360,300" {
		t.Fatalf("ffprobe: %q, want h264,High,640,360,300", info)
	}
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("decode errors: %v\n%s", err, out)
	}

	// A keyframe late in the run, decoded, against the pattern rendered for
	// its slot and time. A keyframe stands alone, so what is compared is the
	// encoder's picture, not how a loaded reader kept up.
	k := len(got) - 1
	for k > 0 && !h264.IsRandomAccess(got[k].au) {
		k--
	}
	if k < 60 {
		t.Fatalf("no keyframe after the first in %d frames", len(got))
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-vf", "select=eq(n\\,"+strconv.Itoa(k)+")",
		"-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	dec := image.NewRGBA(decoded.Bounds())
	for y := 0; y < 360; y++ {
		for x := 0; x < 640; x++ {
			dec.Set(x, y, decoded.At(x, y))
		}
	}
	want := image.NewRGBA(image.Rect(0, 0, 640, 360))
	capture.RenderPattern(want, got[k].frameNo, got[k].captured)
	if p := psnr(dec, want); p < 30 {
		t.Fatalf("decoded frame %d (slot %d) vs the pattern: PSNR %.1f dB, want >= 30", k, got[k].frameNo, p)
	} else {
		t.Logf("decoded frame %d vs the pattern: PSNR %.1f dB", k, p)
	}
}

// A snapshot is a decodable picture of the requested size showing the
// program.
func TestSnapshot(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "640", "-height", "360")
	m.Await("frames composed", 10*time.Second, func() bool { return m.Status().GetEncoder().GetCapturedFrames() > 0 })
	dir := t.TempDir()
	for _, tc := range []struct {
		file, size string
		w, h       int
	}{{"full.png", "", 640, 360}, {"small.jpg", "320x180", 320, 180}} {
		args := []string{"snapshot", "-o", filepath.Join(dir, tc.file)}
		if tc.size != "" {
			args = append(args, "-size", tc.size)
		}
		if out, err := m.Ctl(args...); err != nil {
			t.Fatalf("snapshot: %v\n%s", err, out)
		}
		f, err := os.Open(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		img, format, err := image.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s does not decode: %v", tc.file, err)
		}
		if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Fatalf("%s (%s) is %v, want %dx%d", tc.file, format, b.Size(), tc.w, tc.h)
		}
		if tc.size == "" {
			// The colour bars at the top do not move: they match the pattern.
			want := image.NewRGBA(image.Rect(0, 0, 640, 360))
			capture.RenderPattern(want, 0, time.Now())
			for x := 5; x < 640; x += 10 {
				r1, g1, b1, _ := img.At(x, 10).RGBA()
				r2, g2, b2, _ := want.At(x, 10).RGBA()
				if r1 != r2 || g1 != g2 || b1 != b2 {
					t.Fatalf("snapshot pixel (%d,10) is %v, the pattern has %v", x, img.At(x, 10), want.At(x, 10))
				}
			}
		}
	}
}

// Here no GPU exists: auto picks libx264 and names each hardware backend
// with why it was refused; forcing one is a clear error, not a crash.
func TestBackendChoiceOnThisMachine(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180")
	m.Await("encoder backend chosen", 10*time.Second, func() bool { return m.Status().GetEncoder().GetBackend() != "" })
	e := m.Status().GetEncoder()
	if e.GetBackend() != "libx264" {
		t.Fatalf("auto chose %q, want libx264", e.GetBackend())
	}
	refused := map[string]string{}
	for _, r := range e.GetRefused() {
		refused[r.GetBackend()] = r.GetReason()
	}
	for _, b := range []string{"h264_nvenc", "h264_vaapi", "h264_qsv"} {
		if refused[b] == "" {
			t.Errorf("%s: no refusal reason in status (%v)", b, e.GetRefused())
		}
	}

	forced := startMaster(t, nil, "-children", "encoder", "-backend", "h264_nvenc", "-width", "320", "-height", "180")
	st := forced.AwaitConfigured(10*time.Second, "encoder")
	if msg := st.GetEncoder().GetError(); !strings.Contains(msg, "h264_nvenc") {
		t.Fatalf("forcing h264_nvenc: status error %q does not name it", msg)
	}
	if c := child(forced.Status(), "encoder"); c.GetRestarts() != 0 || c.GetState() != "running" {
		t.Fatalf("forcing a missing backend crashed the encoder: %v", c)
	}
	out, _ := forced.Ctl("status")
	if !strings.Contains(out, "h264_nvenc") {
		t.Fatalf("ctl status does not show why h264_nvenc is not used:\n%s", out)
	}
}

// A hardware backend that keeps crashing is abandoned for the next one down
// to libx264, and the encoder stays there. No GPU exists here, so a test-only
// fault makes libx264 pose as a crashing NVENC.
func TestHardwareCrashLoopFallsBack(t *testing.T) {
	t.Parallel()
	m := startMaster(t, []string{"ONAIR_TEST_FAULTS=1", "ONAIR_TEST_FAKE_HW=h264_nvenc:crash"},
		"-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180")
	var st *pb.MasterStatus
	m.Await("fallback to libx264", 20*time.Second, func() bool {
		st = m.Status()
		return st.GetFallback() != "" && configured(st, "encoder") && st.GetEncoder().GetBackend() == "libx264"
	})
	if !strings.Contains(st.GetFallback(), "h264_nvenc") {
		t.Fatalf("fallback reason %q does not name the backend", st.GetFallback())
	}
	restarts := child(st, "encoder").GetRestarts()
	if restarts < 3 {
		t.Fatalf("fell back after %d restarts, want 3 crashes first", restarts)
	}
	// It stays on libx264: frames keep coming with no further restart.
	frames := st.GetProgramFrames()
	m.Await("program continues", 10*time.Second, func() bool { return m.Status().GetProgramFrames() > frames+60 })
	st = m.Status()
	if c := child(st, "encoder"); c.GetRestarts() != restarts || c.GetState() != "running" || st.GetEncoder().GetBackend() != "libx264" {
		t.Fatalf("after fallback: %v, backend %q", c, st.GetEncoder().GetBackend())
	}
	out, _ := m.Ctl("status")
	if !strings.Contains(out, "fallback: h264_nvenc") {
		t.Fatalf("ctl status does not show the fallback:\n%s", out)
	}
}

// A driver that crashes the encoder while it is being opened would do so on
// every start: the first such crash is pinned on that backend, which is left
// out at once, and the program goes on with the next one. The cost is one
// encoder restart. No GPU exists here, so a test-only fault makes libx264
// pose as a VA-API driver that crashes while opening.
func TestHardwareCrashWhileOpeningFallsBackAtOnce(t *testing.T) {
	t.Parallel()
	m := startMaster(t, []string{"ONAIR_TEST_FAULTS=1", "ONAIR_TEST_FAKE_HW=h264_vaapi:crash-open"},
		"-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180", "-backend", "auto")
	var st *pb.MasterStatus
	m.Await("the program on libx264", 20*time.Second, func() bool {
		st = m.Status()
		return configured(st, "encoder") && st.GetEncoder().GetBackend() == "libx264" && st.GetProgramFrames() > 0
	})
	if !strings.Contains(st.GetFallback(), "h264_vaapi took the encoder down while opening") {
		t.Fatalf("fallback reason %q does not name the backend that crashed while opening", st.GetFallback())
	}
	if r := child(st, "encoder").GetRestarts(); r != 1 {
		t.Fatalf("%d encoder restarts, want exactly 1 (the crash while opening)", r)
	}
	refused := false
	for _, r := range st.GetEncoder().GetRefused() {
		refused = refused || r.GetBackend() == "h264_vaapi" && strings.Contains(r.GetReason(), "excluded")
	}
	if !refused {
		t.Fatalf("status does not say h264_vaapi is left out: %v", st.GetEncoder().GetRefused())
	}
	frames := st.GetProgramFrames()
	m.Await("the program continues", 10*time.Second, func() bool { return m.Status().GetProgramFrames() > frames+60 })
	if c := child(m.Status(), "encoder"); c.GetRestarts() != 1 || c.GetState() != "running" {
		t.Fatalf("after the fallback: %v", c)
	}
}

// A driver that hangs while opening, on a live change of settings to it,
// leaves the encoder answering no health ping: it is killed, the hang is
// pinned on that backend, which is left out, and the program goes on with
// libx264. (Test-only fault, as above: no GPU here.)
func TestHardwareHangWhileOpeningFallsBack(t *testing.T) {
	t.Parallel()
	m := startMaster(t, []string{"ONAIR_TEST_FAULTS=1", "ONAIR_TEST_FAKE_HW=h264_vaapi:hang-open"},
		"-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180", "-backend", "libx264")
	st := m.AwaitConfigured(20*time.Second, "encoder")
	settings := st.GetSettings()
	settings.Backend = "h264_vaapi"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := m.Client.SetEncoder(ctx, settings); err != nil {
		t.Fatal(err)
	}
	m.Await("the program back on libx264", 20*time.Second, func() bool {
		st = m.Status()
		return configured(st, "encoder") && st.GetEncoder().GetBackend() == "libx264" &&
			child(st, "encoder").GetRestarts() >= 1 && st.GetFallback() != ""
	})
	if !strings.Contains(st.GetFallback(), "h264_vaapi took the encoder down while opening") {
		t.Fatalf("fallback reason %q does not name the backend that hung", st.GetFallback())
	}
	if !strings.Contains(child(st, "encoder").GetLastExit(), "hung") {
		t.Errorf("last exit %q, want the hang", child(st, "encoder").GetLastExit())
	}
	frames := st.GetProgramFrames()
	m.Await("the program continues", 10*time.Second, func() bool { return m.Status().GetProgramFrames() > frames+60 })
}

// Layers from the config make the scene in order, placed and blended; a
// layer whose source cannot open is reported and the rest still renders.
func TestSceneLayers(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	body := `encoder:
  layers:
    - {source: pattern}
    - {source: "color:#ff0000", x: 0, y: 0, width: 100, height: 100}
    - {source: "color:#00ff00", x: 540, y: 260, width: 100, height: 100, opacity: 0.5}
    - {source: "window:no-such-window-anywhere", x: 200, y: 100, width: 100, height: 100}
`
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, nil, "-config", cfg, "-children", "encoder", "-width", "640", "-height", "360")
	m.Await("frames composed", 10*time.Second, func() bool { return m.Status().GetEncoder().GetCapturedFrames() > 0 })
	file := filepath.Join(t.TempDir(), "s.png")
	if out, err := m.Ctl("snapshot", "-o", file); err != nil {
		t.Fatalf("snapshot: %v\n%s", err, out)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	near := func(x, y int, r, g, b uint32) {
		t.Helper()
		cr, cg, cb, _ := img.At(x, y).RGBA()
		cr, cg, cb = cr>>8, cg>>8, cb>>8
		if diff(cr, r) > 8 || diff(cg, g) > 8 || diff(cb, b) > 8 {
			t.Errorf("pixel (%d,%d) is %d,%d,%d, want about %d,%d,%d", x, y, cr, cg, cb, r, g, b)
		}
	}
	near(50, 50, 255, 0, 0) // the red square over the bars
	// Half-transparent green over the pattern's dark band.
	bare := image.NewRGBA(image.Rect(0, 0, 640, 360))
	capture.RenderPattern(bare, 0, time.Now())
	under := bare.RGBAAt(635, 355)
	near(635, 355, uint32(under.R)/2, (uint32(under.G)+255)/2, uint32(under.B)/2)
	errs := m.Status().GetEncoder().GetLayerErrors()
	if len(errs) != 1 || !strings.Contains(errs[0], "no-such-window-anywhere") {
		t.Errorf("layer errors %q, want the missing window's", errs)
	}
}

func diff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func decodePNG(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
