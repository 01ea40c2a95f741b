package encoder

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-studio/onair/internal/codec"
	"github.com/onair-studio/onair/internal/rtsp"
	"github.com/onair-studio/onair/internal/scene"
	"github.com/onair-studio/onair/stub/pb"
)

// pipeline is one run of capture → compose → convert → encode → return path
// with fixed settings. Settings other than the bitrate make a new pipeline.
type pipeline struct {
	log     *slog.Logger
	cfg     *pb.EncoderConfig
	comp    *scene.Compositor
	enc     *codec.Encoder
	backend string
	refused []*pb.BackendRefusal
	frame   *codec.Frame
	fps     int

	// pub belongs to the compositor's goroutine.
	pub         *rtsp.Publisher
	nextPublish time.Time
	encoded     atomic.Uint64
	encodeNanos atomic.Int64
	errMu       sync.Mutex
	err         string
	stop        context.CancelFunc
	done        chan struct{}
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

// startPipeline opens the sources and the encoder and starts the clock. When
// no encoder opens, refused says why for each backend tried.
func startPipeline(cfg *pb.EncoderConfig, log *slog.Logger) (p *pipeline, refused []*pb.BackendRefusal, err error) {
	p = &pipeline{log: log, cfg: cfg, fps: int(cfg.GetFps()), done: make(chan struct{})}
	w, h := int(cfg.GetWidth()), int(cfg.GetHeight())
	comp, err := scene.New(scene.Options{
		Width: w, Height: h, FPS: float64(cfg.GetFps()),
		Layers: []scene.Layer{{Source: sourceFor(cfg.GetSource()), Opacity: 1}},
	})
	if err != nil {
		return nil, nil, err
	}
	p.comp = comp
	p.enc, p.backend, p.refused, err = openEncoder(cfg, log)
	if err != nil {
		comp.Close()
		return nil, p.refused, err
	}
	if p.frame, err = codec.NewFrame(p.enc.PixelFormat(), w, h); err != nil {
		p.enc.Close()
		comp.Close()
		return nil, p.refused, err
	}
	log.Info("encoding", "backend", p.backend, "size", fmt.Sprintf("%dx%d", w, h), "fps", p.fps, "kbps", cfg.GetBitrateKbps())
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	go func() {
		defer close(p.done)
		_ = comp.Run(ctx, p.encodeFrame)
	}()
	return p, p.refused, nil
}

// encodeFrame runs on the compositor's goroutine for every composed frame.
func (p *pipeline) encodeFrame(img *image.RGBA, frameNo int64, captured time.Time) {
	if err := p.frame.FromRGBA(img); err != nil {
		p.setErr(err)
		return
	}
	// The presentation time is the frame's slot, so skipped slots show as
	// gaps and the clock never drifts from the frame rate.
	pts := time.Duration(frameNo) * time.Second / time.Duration(p.fps)
	start := time.Now()
	pkts, err := p.enc.Encode(p.frame, pts, captured, false)
	p.encodeNanos.Add(int64(time.Since(start)))
	if err != nil {
		p.setErr(fmt.Errorf("encode: %w", err))
		return
	}
	for _, pkt := range pkts {
		p.encoded.Add(1)
		p.publish(pkt)
	}
	simulatedCrash(p.backend, p.encoded.Load())
}

// publish sends a packet to the master, connecting first if needed. The
// first packet is a keyframe, so the parameter sets are known by then.
func (p *pipeline) publish(pkt codec.Packet) {
	if p.pub == nil {
		if time.Now().Before(p.nextPublish) || !pkt.Keyframe {
			return
		}
		sps, pps, _ := p.enc.ParameterSets()
		pub, err := rtsp.Publish(p.cfg.GetReturnUrl(), sps, pps)
		if err != nil {
			// The master may be restarting its server; try again soon,
			// from a keyframe.
			p.nextPublish = time.Now().Add(500 * time.Millisecond)
			p.setErr(err)
			p.enc.ForceKeyframe()
			return
		}
		p.pub = pub
		p.setErr(nil)
	}
	if err := p.pub.WriteAccessUnit(rtsp.AccessUnit{NALUs: pkt.NALUs, PTS: pkt.PTS}); err != nil {
		p.setErr(err)
		p.pub.Close()
		p.pub = nil
		p.enc.ForceKeyframe()
	}
}

func (p *pipeline) setErr(err error) {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	if err == nil {
		p.err = ""
		return
	}
	if p.err != err.Error() {
		p.log.Warn("pipeline", "err", err)
	}
	p.err = err.Error()
}

// close stops the pipeline and releases the encoder, sources and connection.
func (p *pipeline) close() {
	if p.stop != nil {
		p.stop()
		<-p.done
	}
	if p.pub != nil {
		p.pub.Close()
	}
	if p.enc != nil {
		p.enc.Close()
	}
	if p.comp != nil {
		p.comp.Close()
	}
}

// fill adds the pipeline's counters to st.
func (p *pipeline) fill(st *pb.EncoderStatus) {
	st.Backend = p.backend
	st.Refused = p.refused
	stats := p.comp.Stats()
	st.CapturedFrames = uint64(stats.Composed)
	st.SkippedFrames = uint64(stats.Skipped)
	st.EncodedFrames = p.encoded.Load()
	if n := stats.Composed; n > 0 {
		st.EncodeMsPerFrame = float64(p.encodeNanos.Load()) / float64(n) / 1e6
	}
	for _, l := range stats.Layers {
		if l.Err != nil {
			st.LayerErrors = append(st.LayerErrors, fmt.Sprintf("%s: %v", l.Source, l.Err))
		}
	}
	p.errMu.Lock()
	st.Error = p.err
	p.errMu.Unlock()
}
