// Package encoder is the encoder child's service: it turns the configuration
// the master sends into a running pipeline (capture, compose, convert,
// H.264, return path to the master) and reports on it.
//
// The program's sound is mixed and AAC-encoded once, on the same capture
// clock as the picture, and published as the program path's second track.
// It is captured from the PulseAudio server named by $ONAIR_PULSE_SERVER
// (PulseServerEnv), or, unset, the one libpulse finds for the user
// ($PULSE_SERVER, then the user's runtime directory).
package encoder

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/audio"
	"github.com/onair-studio/onair/internal/broadcast"
	"github.com/onair-studio/onair/internal/fault"
	"github.com/onair-studio/onair/internal/scene"
	"github.com/onair-studio/onair/stub/pb"
)

// Service implements pb.EncoderServer.
type Service struct {
	pb.UnimplementedEncoderServer
	log *slog.Logger

	mu       sync.Mutex
	cfg      *pb.EncoderConfig
	pipe     *pipeline
	startErr string
	refused  []*pb.BackendRefusal
	overlays map[string]*pb.Overlay // by id
	preview  *preview               // studio mode's preview; nil when off
	filters  []*layerFilter         // outlive pipelines, like overlays

	levels    *broadcast.Hub[*pb.AudioLevels] // outlives pipelines: a watcher stays through a restart of the picture
	audioKbps atomic.Int32                    // the AAC bitrate asked for, read by Slate without the lock
}

// New returns an unconfigured encoder service.
func New() *Service {
	return &Service{
		cfg:      &pb.EncoderConfig{},
		log:      slog.New(slog.NewTextHandler(os.Stderr, nil)),
		overlays: map[string]*pb.Overlay{},
		levels:   broadcast.New[*pb.AudioLevels](levelWatcherBuffer),
	}
}

// Configure applies cfg. It is idempotent: the same config again changes
// nothing, a new bitrate and any audio setting are applied live, and any
// other change restarts the pipeline. A pipeline that cannot start is
// reported in Status, not as an error: the child itself is healthy. So is
// an audio setting that cannot apply (an unknown device, listed with those
// that exist): the rest applies and status.audio.error says what was
// refused.
//
// With cfg.Standby the pipeline is only prepared (see preparePipeline); a
// later Configure without it promotes the spare: its clock starts and it
// publishes at once.
func (s *Service) Configure(_ context.Context, cfg *pb.EncoderConfig) (*pb.EncoderStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applyPreview(cfg)
	s.filters = reconcileFilters(s.filters, cfg)
	if s.pipe != nil {
		s.attachFilters(s.pipe)
	}
	// A spare's AAC encoder is open but its audio engine is not, so a new
	// sound bitrate has nothing to apply it live: the spare prepares again.
	staleSpareSound := s.pipe != nil && s.pipe.held() && s.cfg.GetAudio().GetBitrateKbps() != cfg.GetAudio().GetBitrateKbps()
	if s.pipe != nil && sameButBitrate(s.cfg, cfg) && !staleSpareSound {
		if s.pipe.program != nil && s.cfg.GetBitrateKbps() != cfg.GetBitrateKbps() {
			// A refused bitrate leaves the settings (and the revision the
			// master sees applied) as they were.
			if err := s.pipe.program.enc.SetBitrate(int(cfg.GetBitrateKbps())); err != nil {
				return nil, status.Error(codes.InvalidArgument, err.Error())
			}
			s.log.Info("bitrate changed live", "kbps", cfg.GetBitrateKbps())
		}
		if err := switchScene(s.pipe, s.cfg, cfg); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		if s.pipe.audio != nil && !proto.Equal(soundOf(s.cfg), soundOf(cfg)) {
			s.pipe.audio.apply(soundOf(cfg))
		}
		s.cfg = proto.Clone(cfg).(*pb.EncoderConfig)
		s.audioKbps.Store(cfg.GetAudio().GetBitrateKbps())
		if s.pipe.held() {
			s.keepOrPromote()
		}
		return s.status(), nil
	}
	s.cfg = proto.Clone(cfg).(*pb.EncoderConfig)
	s.audioKbps.Store(cfg.GetAudio().GetBitrateKbps())
	switch {
	case cfg.GetReturnUrl() == "":
		s.stopPipeline() // nowhere to send the program
	case cfg.GetStandby():
		s.stopPipeline()
		p, err := preparePipeline(s.cfg, s.log, s.levels.Publish, spareOpensCodec(s.cfg))
		s.refused = p.refusedOf()
		if err != nil {
			s.startErr = err.Error()
			s.log.Error("spare encoder could not prepare", "err", err)
			return s.status(), nil
		}
		s.pipe = p
		s.attachFilters(p)
		s.log.Info("standing by", "codec_open", p.program != nil)
	default:
		s.stopPipeline()
		p, refused, err := startPipeline(s.cfg, s.log, s.levels.Publish)
		s.pipe, s.refused = p, refused
		if err != nil {
			s.startErr = err.Error()
			s.log.Error("encoder pipeline did not start", "err", err)
		} else {
			s.applyOverlays(p)
			s.attachFilters(p)
		}
	}
	return s.status(), nil
}

// attachFilters hands p the filters: the picture's to its compositor, the
// sound's to its mixer.
func (s *Service) attachFilters(p *pipeline) {
	p.comp.SetFilters(sceneFilters(s.filters))
	p.setSoundFilters(s.filters)
}

// keepOrPromote brings a held pipeline up to s.cfg: a spare opens a codec
// it may now hold, and a promoted one starts publishing.
func (s *Service) keepOrPromote() {
	p := s.pipe
	p.cfg = s.cfg // a deferred codec and the sound open with the newest settings
	if !s.cfg.GetStandby() {
		if err := p.run(); err != nil {
			p.close()
			s.pipe, s.startErr, s.refused = nil, err.Error(), p.refused
			s.log.Error("promoted encoder did not start", "err", err)
			return
		}
		s.refused = p.refused
		s.log.Info("promoted: publishing")
		s.applyOverlays(p)
		return
	}
	if p.program == nil && spareOpensCodec(s.cfg) {
		if err := p.openCodecs(); err != nil {
			p.close()
			s.pipe, s.startErr, s.refused = nil, err.Error(), p.refused
			return
		}
		s.refused = p.refused
	}
}

// sameButBitrate reports whether a and b differ at most in what a running
// pipeline can change live.
func sameButBitrate(a, b *pb.EncoderConfig) bool {
	x, y := proto.Clone(a).(*pb.EncoderConfig), proto.Clone(b).(*pb.EncoderConfig)
	for _, c := range []*pb.EncoderConfig{x, y} {
		c.Revision, c.Live, c.BitrateKbps, c.Audio = 0, false, 0, nil
		c.Standby, c.ActiveBackend = false, ""
		c.Layers, c.Scene, c.Transition, c.TransitionMs = nil, "", "", 0 // switched live
		c.PreviewScene, c.PreviewLayers = "", nil                        // composed apart
		c.Filters = nil                                                  // changed live
	}
	return proto.Equal(x, y)
}

func (s *Service) stopPipeline() {
	if s.pipe != nil {
		s.pipe.close()
		s.pipe = nil
	}
	s.startErr, s.refused = "", nil
}

// Status answers the master's health pings; it takes the service lock so a
// wedged encoder stops answering.
func (s *Service) Status(context.Context, *pb.StatusRequest) (*pb.EncoderStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status(), nil
}

func (s *Service) status() *pb.EncoderStatus {
	st := &pb.EncoderStatus{
		AppliedRevision: s.cfg.GetRevision(),
		Live:            s.cfg.GetLive(),
		Config:          proto.Clone(s.cfg).(*pb.EncoderConfig),
		Refused:         s.refused,
		Error:           s.startErr,
		Standby:         s.pipe != nil && s.pipe.held(),
	}
	// The return URL holds this run's credentials: not for status readers.
	st.Config.ReturnUrl = ""
	if s.pipe != nil {
		s.pipe.fill(st)
	}
	for _, f := range s.filters {
		st.Filters = append(st.Filters, f.status())
	}
	return st
}

// ForceKeyframe makes the next frame an IDR.
func (s *Service) ForceKeyframe(context.Context, *pb.Empty) (*pb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pipe == nil {
		return nil, status.Error(codes.Unavailable, "the encoder is not running")
	}
	s.pipe.forceKeyframe()
	return &pb.Empty{}, nil
}

// Snapshot is the current composed frame as PNG or JPEG.
func (s *Service) Snapshot(_ context.Context, req *pb.SnapshotRequest) (*pb.SnapshotReply, error) {
	s.mu.Lock()
	p, pv := s.pipe, s.preview
	s.mu.Unlock()
	var comp *scene.Compositor
	switch {
	case req.GetPreview() && pv == nil:
		return nil, status.Error(codes.FailedPrecondition, "studio mode is off: there is no preview")
	case req.GetPreview():
		comp = pv.comp
	case p == nil:
		return nil, status.Error(codes.Unavailable, "the encoder is not running")
	default:
		comp = p.comp
	}
	format := req.GetFormat()
	if format == "" {
		format = "png"
	}
	img, err := comp.Snapshot(int(req.GetWidth()), int(req.GetHeight()), format)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &pb.SnapshotReply{Image: img, Format: format}, nil
}

// InjectFault is for tests only (see package fault).
func (s *Service) InjectFault(_ context.Context, f *pb.Fault) (*pb.Empty, error) {
	return &pb.Empty{}, fault.Inject(f.GetKind(), &s.mu)
}

// AudioDevices lists the PulseAudio sources that can be captured.
func (s *Service) AudioDevices(context.Context, *pb.Empty) (*pb.AudioDeviceList, error) {
	list, err := audio.Devices(audioOptions())
	out := &pb.AudioDeviceList{}
	if err != nil {
		out.Error = err.Error()
	}
	for _, d := range list {
		out.Devices = append(out.Devices, &pb.AudioDevice{Name: d.Name, Description: d.Description})
	}
	return out, nil
}

// WatchAudioLevels streams the mix's meters until the caller leaves. A
// watcher that cannot keep up misses meters rather than holding anyone up.
func (s *Service) WatchAudioLevels(_ *pb.Empty, stream pb.Encoder_WatchAudioLevelsServer) error {
	ch, leave := s.levels.Watch()
	defer leave()
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case l := <-ch:
			if err := stream.Send(l); err != nil {
				return err
			}
		}
	}
}

// levelWatcherBuffer is how many meters wait for a slow watcher (a third
// of a second) before its oldest are dropped.
const levelWatcherBuffer = 4
