package codec

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/onair-studio/onair/internal/testpeer"
)

const testW, testH, testFPS = 640, 360, 30

// encodePattern encodes n frames of the moving pattern and returns the
// packets (flushed) and the source frames in I420.
func encodePattern(t *testing.T, e *Encoder, n int, format Format) ([]Packet, [][]byte) {
	t.Helper()
	s := e.Settings()
	f := mustFrame(t, format, s.Width, s.Height)
	return encodeFrames(t, e, n, func(int) *Frame { return f })
}

// encodeFrames is encodePattern with frame i drawn into frame(i).
func encodeFrames(t *testing.T, e *Encoder, n int, frame func(i int) *Frame) ([]Packet, [][]byte) {
	t.Helper()
	s := e.Settings()
	var pkts []Packet
	var src [][]byte
	for i := 0; i < n; i++ {
		f := frame(i)
		if err := f.FromRGBA(pattern(i, s.Width, s.Height)); err != nil {
			t.Fatal(err)
		}
		src = append(src, i420Bytes(f))
		p, err := e.Encode(f, time.Duration(i)*frameDur(s.FPS), time.Time{}, false)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		pkts = append(pkts, p...)
	}
	p, err := e.Flush()
	if err != nil {
		t.Fatal(err)
	}
	return append(pkts, p...), src
}

// A stream from libx264 is what ffprobe and ffmpeg expect: right size,
// profile, frame rate and count, no decode errors, and close to the source.
func TestEncodeX264DecodesCleanly(t *testing.T) {
	const n = 60
	e := mustOpen(t, Settings{Backend: BackendX264, Width: testW, Height: testH, FPS: testFPS, BitrateKbps: 2000})
	if e.Backend() != BackendX264 || e.PixelFormat() != I420 {
		t.Fatalf("backend %s format %v", e.Backend(), e.PixelFormat())
	}
	pkts, src := encodePattern(t, e, n, I420)
	if len(pkts) != n {
		t.Fatalf("%d packets for %d frames", len(pkts), n)
	}
	for i, p := range pkts {
		if want := time.Duration(i) * frameDur(testFPS); p.PTS != want || p.DTS != want {
			t.Fatalf("packet %d: pts %v dts %v, want %v", i, p.PTS, p.DTS, want)
		}
	}
	if !pkts[0].Keyframe {
		t.Fatal("first packet is not a keyframe")
	}
	path := writeStream(t, pkts)

	st := ffprobe(t, path)
	if st.CodecName != "h264" || st.Width != testW || st.Height != testH || st.Profile != "High" ||
		st.PixFmt != "yuv420p" || st.NbReadFrames != "60" || st.RFrameRate != "30/1" {
		t.Fatalf("ffprobe: %+v", st)
	}
	if st.ColorSpace != "smpte170m" || st.ColorRange != "tv" {
		t.Errorf("colour signalling %s/%s, want smpte170m/tv", st.ColorSpace, st.ColorRange)
	}
	if msg := decodeErrors(t, path); msg != "" {
		t.Fatalf("decode errors: %s", msg)
	}

	raw := decodeRaw(t, path)
	size := len(src[0])
	if len(raw) != n*size {
		t.Fatalf("decoded %d bytes, want %d frames of %d", len(raw), n, size)
	}
	worst := 1000.0
	for i := range src {
		if p := psnr(src[i], raw[i*size:(i+1)*size]); p < worst {
			worst = p
		}
	}
	t.Logf("worst frame PSNR %.1f dB", worst)
	if worst < 30 {
		t.Fatalf("worst frame PSNR %.1f dB, want >= 30", worst)
	}
}

// NV12 input (what a hardware path converts to) encodes as faithfully.
func TestEncodeNV12Input(t *testing.T) {
	e := mustOpen(t, Settings{Backend: BackendX264, Width: testW, Height: testH, BitrateKbps: 2000})
	pkts, src := encodePattern(t, e, 10, NV12)
	path := writeStream(t, pkts)
	if msg := decodeErrors(t, path); msg != "" {
		t.Fatalf("decode errors: %s", msg)
	}
	raw := decodeRaw(t, path)
	size := len(src[0])
	for i := range src {
		if p := psnr(src[i], raw[i*size:(i+1)*size]); p < 30 {
			t.Fatalf("frame %d PSNR %.1f dB", i, p)
		}
	}
}

// A keyframe asked for comes out on the very next packet, whether asked
// through Encode's argument or through ForceKeyframe from elsewhere, and
// otherwise keyframes come exactly every KeyframeSeconds.
func TestForceKeyframe(t *testing.T) {
	const fps = 10
	e := mustOpen(t, Settings{Backend: BackendX264, Width: testW, Height: testH, FPS: fps, KeyframeSeconds: 3})
	f := mustFrame(t, I420, testW, testH)
	var keys []int
	for i := 0; i < 70; i++ {
		if err := f.FromRGBA(pattern(i, testW, testH)); err != nil {
			t.Fatal(err)
		}
		if i == 17 {
			e.ForceKeyframe()
		}
		pkts, err := e.Encode(f, time.Duration(i)*frameDur(fps), time.Time{}, i == 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(pkts) != 1 {
			t.Fatalf("frame %d gave %d packets", i, len(pkts))
		}
		p := pkts[0]
		if p.Keyframe {
			keys = append(keys, i)
			if !hasNALU(p.NALUs, h264.NALUTypeSPS) || !hasNALU(p.NALUs, h264.NALUTypePPS) || !hasNALU(p.NALUs, h264.NALUTypeIDR) {
				t.Fatalf("keyframe %d lacks SPS, PPS or IDR", i)
			}
		}
	}
	// 0 starts, 5 and 17 are forced, 47 and then every 30 frames after 17.
	want := []int{0, 5, 17, 47}
	if len(keys) != len(want) {
		t.Fatalf("keyframes at %v, want %v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("keyframes at %v, want %v", keys, want)
		}
	}
	sps, pps, ok := e.ParameterSets()
	if !ok || h264.NALUType(sps[0]&0x1f) != h264.NALUTypeSPS || h264.NALUType(pps[0]&0x1f) != h264.NALUTypePPS {
		t.Fatalf("ParameterSets: %x %x %v", sps, pps, ok)
	}
	var parsed h264.SPS
	if err := parsed.Unmarshal(sps); err != nil || parsed.Width() != testW || parsed.Height() != testH {
		t.Fatalf("SPS %dx%d: %v", parsed.Width(), parsed.Height(), err)
	}
}

func hasNALU(au [][]byte, typ h264.NALUType) bool {
	for _, n := range au {
		if h264.NALUType(n[0]&0x1f) == typ {
			return true
		}
	}
	return false
}

// Lowering the bitrate on a running encoder lowers the output rate to about
// the new target, with no new keyframe (no reopen) and a clean stream.
func TestSetBitrateLive(t *testing.T) {
	const fps, perPhase = 30, 60
	e := mustOpen(t, Settings{Backend: BackendX264, Width: testW, Height: testH, FPS: fps,
		BitrateKbps: 4000, KeyframeSeconds: 10, Preset: "ultrafast"})
	f := mustFrame(t, I420, testW, testH)
	var all []Packet
	phaseBytes := func(phase int) (bytes int, keys int) {
		for i := 0; i < perPhase; i++ {
			n := phase*perPhase + i
			noise(f, uint32(n))
			pkts, err := e.Encode(f, time.Duration(n)*frameDur(fps), time.Time{}, false)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, pkts...)
			for _, p := range pkts {
				if i >= perPhase/2 { // past the VBV settling
					bytes += len(annexB(t, p))
				}
				if p.Keyframe {
					keys++
				}
			}
		}
		return bytes, keys
	}
	high, _ := phaseBytes(0)
	if err := e.SetBitrate(300); err != nil {
		t.Fatal(err)
	}
	if got := e.Settings().BitrateKbps; got != 300 {
		t.Fatalf("Settings().BitrateKbps = %d after SetBitrate(300)", got)
	}
	low, keys := phaseBytes(1)
	kbps := func(b int) float64 { return float64(b) * 8 / (float64(perPhase/2) / fps) / 1000 }
	t.Logf("4000 kbps phase: %.0f kbps, 300 kbps phase: %.0f kbps", kbps(high), kbps(low))
	if keys != 0 {
		t.Fatalf("%d keyframes after SetBitrate: the encoder was reopened", keys)
	}
	if kbps(high) < 2500 || kbps(high) > 5000 {
		t.Fatalf("4000 kbps phase ran at %.0f kbps", kbps(high))
	}
	if kbps(low) > 450 {
		t.Fatalf("300 kbps phase ran at %.0f kbps", kbps(low))
	}
	if msg := decodeErrors(t, writeStream(t, all)); msg != "" {
		t.Fatalf("decode errors: %s", msg)
	}
}

// B-frames reorder output; timestamps and capture times must still belong
// to the right pictures.
func TestBFramesKeepTimestamps(t *testing.T) {
	const n = 30
	e := mustOpen(t, Settings{Backend: BackendX264, Width: testW, Height: testH, BFrames: 2})
	f := mustFrame(t, I420, testW, testH)
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	capture := func(pts time.Duration) time.Time { return base.Add(pts * 3).Truncate(time.Microsecond) }
	var pkts []Packet
	for i := 0; i < n; i++ {
		if err := f.FromRGBA(pattern(i, testW, testH)); err != nil {
			t.Fatal(err)
		}
		pts := time.Duration(i) * frameDur(30)
		p, err := e.Encode(f, pts, capture(pts), false)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p...)
	}
	p, err := e.Flush()
	if err != nil {
		t.Fatal(err)
	}
	pkts = append(pkts, p...)
	if len(pkts) != n {
		t.Fatalf("%d packets for %d frames", len(pkts), n)
	}
	reordered := false
	seen := map[time.Duration]bool{}
	for i, p := range pkts {
		if p.DTS > p.PTS || (i > 0 && p.DTS <= pkts[i-1].DTS) {
			t.Fatalf("packet %d: dts %v pts %v (previous dts %v)", i, p.DTS, p.PTS, pkts[max(i-1, 0)].DTS)
		}
		if i > 0 && p.PTS < pkts[i-1].PTS {
			reordered = true
		}
		seen[p.PTS] = true
		if got, ok := ParseCaptureTime(p.NALUs); !ok || !got.Equal(capture(p.PTS)) {
			t.Fatalf("packet %d pts %v: capture %v, want %v", i, p.PTS, got, capture(p.PTS))
		}
	}
	if !reordered || len(seen) != n {
		t.Fatalf("reordered %v, %d distinct pts", reordered, len(seen))
	}
	if msg := decodeErrors(t, writeStream(t, pkts)); msg != "" {
		t.Fatalf("decode errors: %s", msg)
	}
}

// Misuse gives errors, never a crash.
func TestMisuse(t *testing.T) {
	for _, s := range []Settings{
		{Width: 641, Height: 360},
		{Width: 0, Height: 360},
		{Width: 640, Height: 360, Backend: "h265_magic"},
		{Width: 640, Height: 360, Preset: "warp"},
		{Width: 640, Height: 360, Profile: "high10"},
		{Width: 640, Height: 360, BitrateKbps: -1},
		{Width: 640, Height: 360, Profile: "baseline", BFrames: 2},
	} {
		if e, err := Open(s); err == nil {
			e.Close()
			t.Errorf("Open(%+v) succeeded", s)
		}
	}

	e := mustOpen(t, Settings{Backend: BackendX264, Width: testW, Height: testH})
	good := mustFrame(t, I420, testW, testH)
	if _, err := e.Encode(nil, 0, time.Time{}, false); err == nil {
		t.Error("nil frame accepted")
	}
	if _, err := e.Encode(mustFrame(t, I420, 320, 180), 0, time.Time{}, false); err == nil || !strings.Contains(err.Error(), "320x180") {
		t.Errorf("wrong size: %v", err)
	}
	short := *good
	short.Planes[2] = short.Planes[2][:10]
	if _, err := e.Encode(&short, 0, time.Time{}, false); err == nil {
		t.Error("short plane accepted")
	}
	if _, err := e.Encode(good, time.Second, time.Time{}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Encode(good, time.Second, time.Time{}, false); err == nil {
		t.Error("repeated pts accepted")
	}
	if err := e.SetBitrate(10); err == nil {
		t.Error("10 kbps accepted")
	}
	if _, err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Encode(good, 2*time.Second, time.Time{}, false); !errors.Is(err, ErrFlushed) {
		t.Errorf("Encode after Flush: %v", err)
	}
	e.Close()
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := e.Encode(good, 3*time.Second, time.Time{}, false); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close: %v", err)
	}
	if _, err := e.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
	if err := e.SetBitrate(1000); !errors.Is(err, ErrClosed) {
		t.Errorf("SetBitrate after Close: %v", err)
	}
}

// Bitrate changes and keyframe requests arrive from other goroutines (the
// control API, a reconnecting destination) while frames are encoded.
func TestConcurrentControl(t *testing.T) {
	e := mustOpen(t, Settings{Backend: BackendX264, Width: 320, Height: 180, Preset: "ultrafast"})
	f := mustFrame(t, I420, 320, 180)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			e.ForceKeyframe()
			if err := e.SetBitrate(500 + i%2*500); err != nil {
				t.Error(err)
				return
			}
			_ = e.Settings()
			time.Sleep(time.Millisecond)
		}
	}()
	var pkts []Packet
	for i := 0; i < 40; i++ {
		noise(f, uint32(i))
		p, err := e.Encode(f, time.Duration(i)*frameDur(30), time.Time{}, false)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p...)
	}
	close(stop)
	wg.Wait()
	e.Close()
	if len(pkts) != 40 {
		t.Fatalf("%d packets", len(pkts))
	}
	if msg := decodeErrors(t, writeStream(t, pkts)); msg != "" {
		t.Fatalf("decode errors: %s", msg)
	}
}

// Frames whose planes are libavcodec's own (NewDirectFrame), refilled and
// encoded in turn as the encoder's pipeline does with its pictures (two here), go
// to libx264 without a copy, and each decodes as its own picture (closer
// to it than to the picture before, which shared no buffer with it).
func TestDirectFramesEncodeWithoutCopy(t *testing.T) {
	const n = 30
	e := mustOpen(t, Settings{Backend: BackendX264, Width: testW, Height: testH, FPS: testFPS, BitrateKbps: 4000})
	var frames [2]*Frame
	for i := range frames {
		f, err := NewDirectFrame(I420, testW, testH)
		if err != nil {
			t.Fatal(err)
		}
		frames[i] = f
	}
	pkts, src := encodeFrames(t, e, n, func(i int) *Frame {
		f := frames[i%2]
		if e.av.direct(f) == nil {
			t.Fatalf("frame %d would be copied into the encoder", i)
		}
		return f
	})
	path := writeStream(t, pkts)
	if msg := decodeErrors(t, path); msg != "" {
		t.Fatalf("decode errors: %s", msg)
	}
	raw := decodeRaw(t, path)
	size := len(src[0])
	if len(raw) != n*size {
		t.Fatalf("decoded %d bytes, want %d frames of %d", len(raw), n, size)
	}
	for i := 1; i < n; i++ {
		dec := raw[i*size : (i+1)*size]
		if own, prev := psnr(src[i], dec), psnr(src[i-1], dec); own < 30 || own <= prev {
			t.Fatalf("frame %d: PSNR %.1f dB against its picture, %.1f against the one before", i, own, prev)
		}
	}

	// Any frame in the other format is still converted on its way in.
	nv, err := NewDirectFrame(NV12, testW, testH)
	if err != nil {
		t.Fatal(err)
	}
	if e.av.direct(nv) != nil {
		t.Error("an NV12 frame would go to libx264 as it is")
	}
}

// A pipeline replaced by a change of size or rate frees its pictures: a
// 1080p picture is 3 MiB the garbage collector does not see, so left to
// it they stayed with the encoder until its next collection.
func TestFreedFramesGiveMemoryBack(t *testing.T) {
	const w, h, n = 1920, 1080, 30
	resident := func() int64 {
		rss, err := testpeer.RSS(os.Getpid())
		if err != nil {
			t.Skipf("resident memory not readable: %v", err)
		}
		return rss >> 20
	}
	before := resident()
	var frames []*Frame
	for range n {
		f, err := NewDirectFrame(I420, w, h)
		if err != nil {
			t.Fatal(err)
		}
		for p := range f.Planes {
			for j := range f.Planes[p] {
				f.Planes[p][j] = byte(j + p)
			}
		}
		frames = append(frames, f)
	}
	held := resident() - before
	for _, f := range frames {
		f.Free()
		f.Free() // a second call does nothing
		if f.Planes[0] != nil {
			t.Fatal("a freed frame still has planes")
		}
	}
	TrimHeap() // as a pipeline's close does
	left := resident() - before
	t.Logf("%d 1080p frames: %d MiB resident while held, %d MiB after Free", n, held, left)
	if held < n*5/2 || left > held/4 {
		t.Errorf("%d 1080p frames held %d MiB and left %d MiB after Free (at most a quarter expected)", n, held, left)
	}
}
