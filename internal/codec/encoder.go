package codec

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/onair-studio/onair/internal/limits"
)

// Errors returned by Encoder methods and Open.
var (
	ErrClosed  = errors.New("codec: encoder is closed")
	ErrFlushed = errors.New("codec: encoder was flushed")
	// ErrUnavailable is wrapped by Open's error when a backend refuses to
	// open or to encode a test frame; the message says why.
	ErrUnavailable = errors.New("backend unavailable")
)

func (e *backendError) Unwrap() error { return ErrUnavailable }

// Settings configure an Encoder. Zero fields take the defaults noted.
type Settings struct {
	// Backend is "auto" (default), "libx264", "h264_nvenc", "h264_vaapi" or
	// "h264_qsv".
	Backend string
	// Width and Height in pixels; both even (4:2:0).
	Width, Height int
	// FPS is the nominal frame rate (default 30).
	FPS int
	// BitrateKbps is the CBR target: average = peak = buffer per second
	// (default 2500).
	BitrateKbps int
	// KeyframeSeconds is the IDR interval (default 2, what live services ask).
	KeyframeSeconds int
	// Preset is an x264 preset name (default "veryfast"). NVENC and QSV get
	// their nearest equivalent; VAAPI has none and ignores it.
	Preset string
	// Profile is "baseline", "main" or "high" (default "high").
	Profile string
	// BFrames between references (default 0: lowest latency, DTS == PTS).
	BFrames int
	// VAAPIDevice is the DRM render node for h264_vaapi; empty lets
	// libavcodec pick the first one.
	VAAPIDevice string
}

func (s Settings) resolve() (Settings, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if s.Backend == "" {
		s.Backend = BackendAuto
	}
	def(&s.FPS, 30)
	def(&s.BitrateKbps, 2500)
	def(&s.KeyframeSeconds, 2)
	if s.Preset == "" {
		s.Preset = "veryfast"
	}
	if s.Profile == "" {
		s.Profile = "high"
	}
	if err := limits.CheckBitrate(s.BitrateKbps); err != nil {
		return s, fmt.Errorf("codec: bitrate %w", err)
	}
	switch {
	case s.Backend != BackendAuto && !contains(autoOrder, s.Backend):
		return s, fmt.Errorf("codec: unknown backend %q (want auto, %s)", s.Backend, strings.Join(autoOrder, ", "))
	case s.Width < 16 || s.Height < 16 || s.Width > 8192 || s.Height > 8192 || s.Width%2 != 0 || s.Height%2 != 0:
		return s, fmt.Errorf("codec: size %dx%d must be even and within 16..8192", s.Width, s.Height)
	case s.FPS < 1 || s.FPS > limits.MaxFPS:
		return s, fmt.Errorf("codec: fps %d out of range 1..%d", s.FPS, limits.MaxFPS)
	case s.KeyframeSeconds < 1 || s.KeyframeSeconds > 60:
		return s, fmt.Errorf("codec: keyframe interval %d s out of range 1..60", s.KeyframeSeconds)
	case !contains(x264Presets, s.Preset):
		return s, fmt.Errorf("codec: unknown preset %q (want one of %s)", s.Preset, strings.Join(x264Presets, ", "))
	case !contains([]string{"baseline", "main", "high"}, s.Profile):
		return s, fmt.Errorf("codec: unknown profile %q (want baseline, main or high)", s.Profile)
	case s.BFrames < 0 || s.BFrames > 4:
		return s, fmt.Errorf("codec: %d B-frames out of range 0..4", s.BFrames)
	case s.BFrames > 0 && s.Profile == "baseline":
		return s, errors.New("codec: the baseline profile has no B-frames")
	}
	return s, nil
}

const maxInflight = 256

// Packet is one encoded access unit.
type Packet struct {
	// NALUs are the access unit's NAL units without start codes, with the
	// capture-time SEI. Keyframes always carry SPS and PPS.
	NALUs [][]byte
	// PTS and DTS are on the clock of the pts passed to Encode (rounded to
	// 1/90000 s where they differ from it); DTS == PTS without B-frames.
	PTS, DTS time.Duration
	// Keyframe is true for IDR access units, where decoding can start.
	Keyframe bool
	// CaptureTime is the frame's capture time as carried in the SEI
	// (microsecond precision).
	CaptureTime time.Time
}

// AnnexB is the access unit in Annex-B form (4-byte start codes), as a file
// or a decoder's input takes it.
func (p Packet) AnnexB() ([]byte, error) { return h264.AnnexB(p.NALUs).Marshal() }

type frameInfo struct {
	pts     time.Duration
	capture time.Time
}

// Encoder is an H.264 encoder. Encode, Flush and Close serialise on one
// lock; SetBitrate and ForceKeyframe never block and may be called from any
// goroutine.
type Encoder struct {
	mu        sync.Mutex
	settings  Settings // resolved; BitrateKbps is the one in effect
	backend   string
	av        *avEncoder // nil once closed
	flushed   bool
	lastTicks int64
	started   bool
	inflight  map[int64]frameInfo // by pts tick, until the packet comes out
	sps, pps  []byte

	closed   atomic.Bool
	nextKbps atomic.Int64 // bitrate to apply before the next frame; 0 = none
	forceKey atomic.Bool
}

// Open resolves s and opens its backend; with "auto" the first of
// h264_nvenc, h264_vaapi, h264_qsv and libx264 that opens and encodes a test
// frame. A named backend that does not work is an error (wrapping
// ErrUnavailable) saying why.
func Open(s Settings) (*Encoder, error) {
	s, err := s.resolve()
	if err != nil {
		return nil, err
	}
	candidates := []string{s.Backend}
	if s.Backend == BackendAuto {
		candidates = autoOrder
	}
	var refusals []string
	for _, b := range candidates {
		err := tryBackend(b, s)
		var av *avEncoder
		if err == nil {
			av, err = openBackend(b, s)
		}
		if err != nil {
			if s.Backend != BackendAuto {
				return nil, fmt.Errorf("codec: %w", err)
			}
			refusals = append(refusals, err.Error())
			continue
		}
		s.Backend = b
		return &Encoder{settings: s, backend: b, av: av, inflight: map[int64]frameInfo{}}, nil
	}
	return nil, fmt.Errorf("codec: no H.264 backend works here: %s: %w", strings.Join(refusals, "; "), ErrUnavailable)
}

// Backend is the name of the backend in use, e.g. "libx264".
func (e *Encoder) Backend() string { return e.backend }

// PixelFormat is the layout the backend takes without a chroma re-pack;
// Encode accepts both.
func (e *Encoder) PixelFormat() Format {
	if e.backend == BackendX264 {
		return I420
	}
	return NV12
}

// Settings returns the resolved settings, with the bitrate last asked for.
func (e *Encoder) Settings() Settings {
	e.mu.Lock()
	s := e.settings
	e.mu.Unlock()
	if k := e.nextKbps.Load(); k > 0 {
		s.BitrateKbps = int(k)
	}
	return s
}

// ParameterSets returns the latest SPS and PPS (without start codes), as
// needed for an RTMP sequence header or SDP; ok is false before the first
// keyframe has come out.
func (e *Encoder) ParameterSets() (sps, pps []byte, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sps == nil || e.pps == nil {
		return nil, nil, false
	}
	return append([]byte(nil), e.sps...), append([]byte(nil), e.pps...), true
}

// ForceKeyframe makes the next frame given to Encode an IDR.
func (e *Encoder) ForceKeyframe() { e.forceKey.Store(true) }

// SetBitrate changes the CBR target from the next frame on, without a new
// stream: libx264 and NVENC reconfigure in place; VAAPI and QSV are drained
// and reopened, which starts with an IDR.
func (e *Encoder) SetBitrate(kbps int) error {
	if e.closed.Load() {
		return ErrClosed
	}
	if err := limits.CheckBitrate(kbps); err != nil {
		return fmt.Errorf("codec: bitrate %w", err)
	}
	e.nextKbps.Store(int64(kbps))
	return nil
}

// Encode submits one frame and returns the access units that are ready
// (with no B-frames, this frame's). pts must increase from call to call;
// captureTime is what the SEI carries (zero means now). forceKeyframe makes
// this frame an IDR.
func (e *Encoder) Encode(f *Frame, pts time.Duration, captureTime time.Time, forceKeyframe bool) ([]Packet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.av == nil {
		return nil, ErrClosed
	}
	if e.flushed {
		return nil, ErrFlushed
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	if f.Width != e.settings.Width || f.Height != e.settings.Height {
		return nil, fmt.Errorf("codec: frame is %dx%d, encoder is %dx%d", f.Width, f.Height, e.settings.Width, e.settings.Height)
	}
	ticks := durationToTicks(pts)
	if e.started && ticks <= e.lastTicks {
		return nil, fmt.Errorf("codec: pts %v does not advance past the previous frame's %v", pts, ticksToDuration(e.lastTicks))
	}
	if captureTime.IsZero() {
		captureTime = time.Now()
	}
	captureTime = time.UnixMicro(captureTime.UnixMicro())

	var out []Packet
	if kbps := e.nextKbps.Swap(0); kbps > 0 && int(kbps) != e.settings.BitrateKbps {
		pkts, err := e.applyBitrate(int(kbps))
		out = append(out, pkts...)
		if err != nil {
			return out, err
		}
	}
	key := e.forceKey.Swap(false) || forceKeyframe
	if direct := e.av.direct(f); direct != nil {
		if err := e.av.sendDirect(direct, ticks, key); err != nil {
			return out, err
		}
	} else {
		if err := e.av.fill(f); err != nil {
			return out, err
		}
		if err := e.av.send(e.av.sw, ticks, key); err != nil {
			return out, err
		}
	}
	e.inflight[ticks] = frameInfo{pts, captureTime}
	if len(e.inflight) > maxInflight {
		// A frame the encoder silently dropped must not be kept forever.
		for k := range e.inflight {
			if k < ticks-10*tickRate {
				delete(e.inflight, k)
			}
		}
	}
	e.lastTicks, e.started = ticks, true
	raw, err := e.av.drain(false)
	pkts, perr := e.packets(raw)
	return append(out, pkts...), errors.Join(err, perr)
}

// applyBitrate puts a new bitrate into effect before the next frame.
func (e *Encoder) applyBitrate(kbps int) ([]Packet, error) {
	e.settings.BitrateKbps = kbps
	if e.av.liveBitrate {
		// libavcodec compares these with its last values on every frame and
		// calls the encoder's own reconfigure when they change.
		setRate(e.av.ctx, kbps)
		return nil, nil
	}
	raw, err := e.av.drain(true)
	pkts, perr := e.packets(raw)
	e.av.close()
	e.av = nil
	if err = errors.Join(err, perr); err != nil {
		return pkts, err
	}
	av, err := openBackend(e.backend, e.settings)
	if err != nil {
		return pkts, fmt.Errorf("codec: reopening for %d kbps: %w", kbps, err)
	}
	e.av = av
	return pkts, nil
}

// Flush ends the stream and returns the access units still inside the
// encoder. Encode fails afterwards; Close is still needed.
func (e *Encoder) Flush() ([]Packet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.av == nil {
		return nil, ErrClosed
	}
	if e.flushed {
		return nil, nil
	}
	e.flushed = true
	raw, err := e.av.drain(true)
	pkts, perr := e.packets(raw)
	return pkts, errors.Join(err, perr)
}

// Close releases the encoder. It is safe to call more than once.
func (e *Encoder) Close() error {
	e.closed.Store(true)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.av.close()
	e.av = nil
	return nil
}

// packets turns raw libavcodec output into Packets: SEI added, timestamps
// mapped back, SPS/PPS remembered and repeated on keyframes lacking them.
func (e *Encoder) packets(raw []rawPacket) ([]Packet, error) {
	out := make([]Packet, 0, len(raw))
	for _, r := range raw {
		au, err := e.av.split(r.data)
		if err != nil {
			return out, fmt.Errorf("codec: encoder output: %w", err)
		}
		hasSPS, hasPPS := false, false
		for _, n := range au {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				e.sps, hasSPS = append(e.sps[:0:0], n...), true
			case h264.NALUTypePPS:
				e.pps, hasPPS = append(e.pps[:0:0], n...), true
			}
		}
		key := h264.IsRandomAccess(au)
		if key && (!hasSPS || !hasPPS) && e.sps != nil && e.pps != nil {
			au = append([][]byte{e.sps, e.pps}, au...)
		}
		p := Packet{PTS: ticksToDuration(r.pts), DTS: ticksToDuration(r.dts), Keyframe: key}
		if info, ok := e.inflight[r.pts]; ok {
			delete(e.inflight, r.pts)
			if r.dts == r.pts {
				p.DTS = info.pts
			}
			p.PTS, p.CaptureTime = info.pts, info.capture
			au = insertSEI(au, CaptureTimeSEI(info.capture))
		}
		p.NALUs = au
		out = append(out, p)
	}
	return out, nil
}

func durationToTicks(d time.Duration) int64 {
	return int64(d/time.Second)*tickRate + int64(d%time.Second)*tickRate/int64(time.Second)
}

func ticksToDuration(t int64) time.Duration {
	return time.Duration(t/tickRate)*time.Second + time.Duration(t%tickRate)*time.Second/tickRate
}
