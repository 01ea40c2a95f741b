// Package encoder is the encoder child's service: it holds the configuration
// the master sends and reports its status.
package encoder

import (
	"context"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/fault"
	"github.com/onair-studio/onair/stub/pb"
)

// Service implements pb.EncoderServer.
type Service struct {
	pb.UnimplementedEncoderServer

	mu  sync.Mutex
	cfg *pb.EncoderConfig
}

// New returns an unconfigured encoder service.
func New() *Service { return &Service{cfg: &pb.EncoderConfig{}} }

// Configure applies cfg; applying the same config twice changes nothing.
func (s *Service) Configure(_ context.Context, cfg *pb.EncoderConfig) (*pb.EncoderStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = proto.Clone(cfg).(*pb.EncoderConfig)
	return s.status(), nil
}

// Status answers the master's health pings; it takes the service lock so a
// wedged encoder stops answering.
func (s *Service) Status(context.Context, *pb.StatusRequest) (*pb.EncoderStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status(), nil
}

func (s *Service) status() *pb.EncoderStatus {
	return &pb.EncoderStatus{
		AppliedRevision: s.cfg.GetRevision(),
		Live:            s.cfg.GetLive(),
		Config:          proto.Clone(s.cfg).(*pb.EncoderConfig),
	}
}

// InjectFault is for tests only (see package fault).
func (s *Service) InjectFault(_ context.Context, f *pb.Fault) (*pb.Empty, error) {
	return &pb.Empty{}, fault.Inject(f.GetKind(), &s.mu)
}
