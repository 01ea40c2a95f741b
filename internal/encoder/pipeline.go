package encoder

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/onair-studio/onair/internal/audio"
	"github.com/onair-studio/onair/internal/codec"
	"github.com/onair-studio/onair/internal/rtsp"
	"github.com/onair-studio/onair/internal/scene"
	"github.com/onair-studio/onair/internal/stages"
	"github.com/onair-studio/onair/stub/pb"
)

// pipeline is one run of capture → compose → convert → encode → return path
// with fixed settings. Settings other than the bitrate make a new pipeline.
//
// Two goroutines share the work: the compositor's goroutine captures,
// composes and converts each frame into a free picture, and the encoding
// goroutine encodes and publishes it. So the next frame is captured while this one is
// encoded, and the pipeline keeps up with whichever of the two is slower
// rather than with their sum. Converted pictures wait for the encoder in a
// short queue (see Pictures); when it is full, the compositor waits and the
// slots that pass are skipped, so frames are dropped, never queued without
// bound.
type pipeline struct {
	log        *slog.Logger
	cfg        *pb.EncoderConfig
	comp       *scene.Compositor
	backend    string
	refused    []*pb.BackendRefusal
	fps        int
	program    *track
	renditions []*track
	// audio is the program's sound, nil when the audio engine could not
	// start (audioErr says why) and the program is video only.
	audio    *audioEngine
	audioErr string
	// aac is the opened AAC encoder until run hands it to the audio engine.
	aac      *audio.AACEncoder
	onLevels func(*pb.AudioLevels)
	// sound is the sound filters by source name; the service sets it.
	sound atomic.Pointer[map[string][]*layerFilter]
	// crashAfter is for tests only (see simulatedCrashAfter).
	crashAfter uint64

	free  chan *picture // pictures the compositor may fill
	ready chan *picture // filled pictures, in order, for the encoding goroutine
	// keyNext asks for the next picture converted to be a keyframe.
	keyNext atomic.Bool
	// stages times each frame's way through both goroutines.
	stages *stages.Meter
	ctx    context.Context
	stop   context.CancelFunc
	done   chan struct{} // both goroutines have ended
}

// Pictures is how many converted frames the pipeline holds: one being
// encoded and up to three waiting (100 ms at 30 fps). As in OBS's frame cache,
// a frame the encoder is late with (a keyframe, a burst of other work on the
// machine) then delays the next ones a little instead of skipping them; the
// delay goes as soon as the encoder is ahead again, and only an encoder that
// stays too slow skips. Measured at 1080p ultrafast: 214 fps held without a
// skipped frame, against 194 with two pictures.
const Pictures = 4

// picture is one composed frame converted for the encoders.
type picture struct {
	program *codec.Frame // in the program encoder's pixel format
	// i420 is the renditions' scaling source when the program's format is
	// not I420 (NV12 on hardware encoders); nil otherwise.
	i420     *codec.Frame
	pts      time.Duration
	captured time.Time
	keyframe bool // forced: an IDR in every track
}

// sourceFor turns the configured source into the scene's one full-frame
// layer. "auto" is the screen when there is a display, else the pattern.
func sourceFor(src string) string {
	if src == "" || src == "auto" {
		if os.Getenv("DISPLAY") != "" {
			return "screen"
		}
		return "pattern"
	}
	return src
}

// layers is the scene the config asks for: its layers, or one full-frame
// layer of its source.
func layers(cfg *pb.EncoderConfig) []scene.Layer {
	if len(cfg.GetLayers()) == 0 {
		return []scene.Layer{{Source: sourceFor(cfg.GetSource()), Opacity: 1}}
	}
	var out []scene.Layer
	for _, l := range cfg.GetLayers() {
		out = append(out, scene.Layer{Source: sourceFor(l.GetSource()), X: int(l.GetX()), Y: int(l.GetY()),
			W: int(l.GetWidth()), H: int(l.GetHeight()), Opacity: l.GetOpacity(), Name: l.GetName(), Hidden: l.GetHidden(),
			Crop: scene.Crop{Left: int(l.GetCropLeft()), Top: int(l.GetCropTop()), Right: int(l.GetCropRight()), Bottom: int(l.GetCropBottom())}})
	}
	return out
}

// withPath replaces the path of the return URL, keeping its credentials.
func withPath(raw, path string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + path
	return u.String()
}

// startPipeline opens the sources and the encoders and starts the clock.
// When no encoder opens, refused says why for each backend tried.
// The audio's meters go to onLevels (nil: nowhere).
func startPipeline(cfg *pb.EncoderConfig, log *slog.Logger, onLevels func(*pb.AudioLevels)) (*pipeline, []*pb.BackendRefusal, error) {
	p, err := preparePipeline(cfg, log, onLevels, true)
	if err != nil {
		return nil, p.refusedOf(), err
	}
	if err := p.run(); err != nil {
		refused := p.refused
		p.close()
		return nil, refused, err
	}
	return p, p.refused, nil
}

// refusedOf is what a pipeline that did not open refused; nil-safe.
func (p *pipeline) refusedOf() []*pb.BackendRefusal {
	if p == nil {
		return nil
	}
	return p.refused
}

// preparePipeline opens the sources and, with openCodec, the encoders, but
// runs no clock: a spare encoder holds it ready until it is promoted. On an
// error the pipeline is closed; what was refused is still in it.
func preparePipeline(cfg *pb.EncoderConfig, log *slog.Logger, onLevels func(*pb.AudioLevels), openCodec bool) (p *pipeline, err error) {
	p = &pipeline{log: log, cfg: cfg, fps: int(cfg.GetFps()), done: make(chan struct{}), onLevels: onLevels, stages: stages.NewMeter()}
	w, h := int(cfg.GetWidth()), int(cfg.GetHeight())
	p.comp, err = scene.New(scene.Options{Width: w, Height: h, FPS: float64(cfg.GetFps()), Layers: layers(cfg)})
	if err != nil {
		return nil, err
	}
	if openCodec {
		if err := p.openCodecs(); err != nil {
			p.close()
			return p, err
		}
	}
	return p, nil
}

// openCodecs opens the program's and renditions' encoders and the AAC
// encoder, and allocates the pictures.
func (p *pipeline) openCodecs() (err error) {
	cfg, log := p.cfg, p.log
	w, h := int(cfg.GetWidth()), int(cfg.GetHeight())
	enc, backend, refused, err := openEncoder(cfg, log)
	p.refused = refused
	if err != nil {
		return err
	}
	p.backend = backend
	p.crashAfter = simulatedCrashAfter(backend)
	// The AAC encoder opens before the session is announced, so the
	// program carries an audio track exactly when there is sound for it.
	aac, err := audio.NewAACEncoder(int(cfg.GetAudio().GetBitrateKbps()))
	var aacConfig *mpeg4audio.AudioSpecificConfig
	if err != nil {
		p.audioErr = fmt.Sprintf("no audio track: %v", err)
		log.Error("the program goes on without sound", "err", err)
		aac = nil
	} else {
		c := aac.Config()
		aacConfig = &c
	}
	defer func() {
		if err != nil && aac != nil {
			aac.Close()
		}
	}()
	if p.program, err = newTrackWithAudio("program", cfg.GetReturnUrl(), enc, aacConfig, time.Time{}, log); err != nil {
		enc.Close()
		return err
	}
	for _, r := range cfg.GetRenditions() {
		rc := &pb.EncoderConfig{Width: r.GetWidth(), Height: r.GetHeight(), BitrateKbps: r.GetBitrateKbps(),
			Fps: cfg.GetFps(), KeyframeSeconds: cfg.GetKeyframeSeconds(), Preset: cfg.GetPreset(),
			Backend: backend, ExcludeBackends: cfg.GetExcludeBackends(), OpeningFile: cfg.GetOpeningFile()}
		renc, _, _, err := openEncoder(rc, log)
		if err != nil {
			return fmt.Errorf("rendition %s: %w", r.GetName(), err)
		}
		t, err := newTrack(r.GetName(), withPath(cfg.GetReturnUrl(), rtsp.RenditionPath(r.GetName())), renc, log)
		if err != nil {
			renc.Close()
			return err
		}
		p.renditions = append(p.renditions, t)
	}
	p.free, p.ready = make(chan *picture, Pictures), make(chan *picture, Pictures)
	for i := 0; i < Pictures; i++ {
		pic := &picture{program: p.program.frame}
		if i > 0 {
			if pic.program, err = codec.NewDirectFrame(p.program.frame.Format, w, h); err != nil {
				return err
			}
		}
		if len(p.renditions) > 0 && pic.program.Format != codec.I420 {
			if pic.i420, err = codec.NewFrame(codec.I420, w, h); err != nil {
				return err
			}
		}
		p.free <- pic
	}
	p.aac = aac
	return nil
}

// run opens the encoders if they are not yet open, then starts the clock,
// the two goroutines and the sound: from here on the program is published.
func (p *pipeline) run() error {
	if p.program == nil {
		if err := p.openCodecs(); err != nil {
			return err
		}
	}
	cfg := p.cfg
	p.log.Info("encoding", "backend", p.backend, "size", fmt.Sprintf("%dx%d", cfg.GetWidth(), cfg.GetHeight()), "fps", p.fps,
		"kbps", cfg.GetBitrateKbps(), "renditions", len(p.renditions))
	p.ctx, p.stop = context.WithCancel(context.Background())
	encoded := make(chan struct{})
	go func() {
		defer close(encoded)
		for pic := range p.ready {
			p.encode(pic)
			p.free <- pic
		}
	}()
	// Both clocks count from start: a picture and the sound captured at
	// the same moment get the same PTS.
	start := time.Now()
	p.program.start = start
	go func() {
		defer close(p.done)
		_ = p.comp.RunFrom(p.ctx, start, p.convert)
		close(p.ready)
		<-encoded
	}()
	if p.aac != nil {
		// After the picture's start: opening devices takes a moment the
		// first frame does not wait for.
		p.audio = startAudio(audio.Clock{Start: start}, p.aac, soundOf(cfg), p.log, p.program.publishAudio, p.onLevels, p.layerSound, p.filterSound)
		p.aac = nil // the engine owns it now
	}
	return nil
}

// setSoundFilters attaches the sound filters among fs to their sources.
func (p *pipeline) setSoundFilters(fs []*layerFilter) {
	m := soundFilters(fs)
	p.sound.Store(&m)
}

// filterSound runs source's filters, in order, on its block.
func (p *pipeline) filterSound(source string, block []float32) {
	if m := p.sound.Load(); m != nil {
		for _, f := range (*m)[source] {
			f.ApplySound(block)
		}
	}
}

// layerSound is the sound of the program's layer named name, nil when
// none plays.
func (p *pipeline) layerSound(name string) audio.LayerSound {
	return p.comp.Sound(name)
}

// held reports whether the pipeline is prepared but not running (a spare).
func (p *pipeline) held() bool { return p.stop == nil }

// convert runs on the compositor's goroutine for every composed frame: it
// converts the frame into a free picture and hands it to the encoder.
func (p *pipeline) convert(img scene.Frame, frameNo int64, captured time.Time) {
	var pic *picture
	select {
	case pic = <-p.free:
	case <-p.ctx.Done():
		return
	}
	// The presentation time is the frame's slot, so skipped slots show as
	// gaps and the clock never drifts from the frame rate.
	pic.pts = time.Duration(frameNo) * time.Second / time.Duration(p.fps)
	pic.captured = captured
	pic.keyframe = p.keyNext.Swap(false)
	p.stages.Frame(frameNo)
	p.stages.Record(stages.Capture, img.Capture)
	p.stages.Record(stages.Compose, img.Compose)
	start := stages.Now()
	from := func(f *codec.Frame) error { return f.FromRGBA(img.RGBA) }
	if img.BGRX {
		from = func(f *codec.Frame) error { return f.FromBGRA(img.Pix, img.Stride) }
	}
	var err error
	if pic.i420 != nil {
		// One colour conversion for both: the renditions' I420, and from it
		// the program's format.
		if err = from(pic.i420); err == nil {
			err = pic.program.FromI420(pic.i420)
		}
	} else {
		err = from(pic.program)
	}
	p.stages.Record(stages.Convert, stages.Since(start))
	if err != nil {
		if pic.keyframe {
			p.keyNext.Store(true) // still wanted, on the next picture
		}
		p.program.setErr(err)
		p.free <- pic
		return
	}
	p.ready <- pic
}

// encode runs on the encoding goroutine: it encodes a picture for the
// program and every rendition and publishes the results. In the stage
// times, each rendition's scaling counts as encoding.
func (p *pipeline) encode(pic *picture) {
	encode, send := p.program.encode(pic.program, pic.pts, pic.captured, pic.keyframe)
	if p.crashAfter > 0 && p.program.encoded.Load() >= p.crashAfter {
		simulatedCrash(p.backend)
	}
	src := pic.program
	if pic.i420 != nil {
		src = pic.i420
	}
	for _, r := range p.renditions {
		start := stages.Now()
		err := r.scaler.Scale(r.frame, src)
		encode += stages.Since(start)
		if err != nil {
			r.setErr(err)
			continue
		}
		e, s := r.encode(r.frame, pic.pts, pic.captured, pic.keyframe)
		encode, send = encode+e, send+s
	}
	p.stages.Record(stages.Encode, encode)
	p.stages.Record(stages.Send, send)
}

func (p *pipeline) tracks() []*track {
	if p.program == nil {
		return p.renditions
	}
	return append([]*track{p.program}, p.renditions...)
}

// forceKeyframe makes the next picture an IDR in every track: the same
// picture everywhere, so players can switch renditions at it.
func (p *pipeline) forceKeyframe() { p.keyNext.Store(true) }

// close stops the pipeline and releases the encoders, sources and
// connections.
func (p *pipeline) close() {
	if p.audio != nil {
		p.audio.close()
	}
	if p.stop != nil {
		p.stop()
		<-p.done
	}
	// With both goroutines ended every picture is back among the free ones
	// (the first's program frame is the program track's own; a second Free
	// does nothing).
	for len(p.free) > 0 {
		(<-p.free).program.Free()
	}
	for _, t := range p.tracks() {
		t.close()
	}
	if p.aac != nil {
		p.aac.Close()
	}
	if p.comp != nil {
		p.comp.Close()
	}
	// What the pictures and encoders freed goes back to the system, here on
	// the caller's thread at normal priority (see codec.TrimHeap).
	codec.TrimHeap()
}

// fill adds the pipeline's counters to st.
func (p *pipeline) fill(st *pb.EncoderStatus) {
	st.Backend = p.backend
	st.Refused = p.refused
	stats := p.comp.Stats()
	st.CapturedFrames = uint64(stats.Composed)
	st.SkippedFrames = uint64(stats.Skipped)
	st.ZeroCopyFrames = uint64(stats.ZeroCopy)
	if w, ok := p.stages.Last(); ok && !p.held() {
		st.Stages = stageTimes(w)
	}
	if p.program == nil { // a spare whose codec opens when promoted
		st.CodecDeferred = true
		return
	}
	st.EncodedFrames = p.program.encoded.Load()
	if n := stats.Composed; n > 0 {
		var nanos int64
		for _, t := range p.tracks() {
			nanos += t.encodeNanos.Load()
		}
		st.EncodeMsPerFrame = float64(nanos) / float64(n) / 1e6
	}
	for _, l := range stats.Layers {
		if l.Err != nil {
			st.LayerErrors = append(st.LayerErrors, fmt.Sprintf("%s: %v", l.Source, l.Err))
		}
	}
	st.Error = p.program.lastErr()
	st.Audio = &pb.AudioStatus{Error: p.audioErr}
	if p.audio != nil {
		p.audio.fill(st.Audio)
	}
	for _, r := range p.renditions {
		st.Renditions = append(st.Renditions, &pb.RenditionStatus{Name: r.name, EncodedFrames: r.encoded.Load(), Error: r.lastErr()})
	}
}

// stageTimes is a second's figures for status.
func stageTimes(w stages.Window) *pb.StageTimes {
	out := &pb.StageTimes{Frames: uint32(w.Frames), Skipped: uint32(w.Skipped)}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for s, name := range stages.Names {
		out.Stages = append(out.Stages, &pb.StageTime{Name: name, MeanMs: ms(w.Mean[s]), MaxMs: ms(w.Max[s])})
	}
	return out
}
