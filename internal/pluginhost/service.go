// Package pluginhost is the pluginhost child's service: it holds the plugin
// configuration the master sends and reports its status.
package pluginhost

import (
	"context"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/fault"
	"github.com/onair-studio/onair/stub/pb"
)

// Service implements pb.PluginHostServer.
type Service struct {
	pb.UnimplementedPluginHostServer

	mu  sync.Mutex
	cfg *pb.PluginHostConfig
}

// New returns an unconfigured pluginhost service.
func New() *Service { return &Service{cfg: &pb.PluginHostConfig{}} }

// Configure applies cfg; applying the same config twice changes nothing.
func (s *Service) Configure(_ context.Context, cfg *pb.PluginHostConfig) (*pb.PluginHostStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = proto.Clone(cfg).(*pb.PluginHostConfig)
	return s.status(), nil
}

// Status answers the master's health pings; it takes the service lock so a
// wedged pluginhost stops answering.
func (s *Service) Status(context.Context, *pb.StatusRequest) (*pb.PluginHostStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status(), nil
}

func (s *Service) status() *pb.PluginHostStatus {
	return &pb.PluginHostStatus{AppliedRevision: s.cfg.GetRevision()}
}

// InjectFault is for tests only (see package fault).
func (s *Service) InjectFault(_ context.Context, f *pb.Fault) (*pb.Empty, error) {
	return &pb.Empty{}, fault.Inject(f.GetKind(), &s.mu)
}
