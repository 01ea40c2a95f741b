// Package pluginhost is the pluginhost child's service. It runs each plugin
// binary named in the master's configuration as its own go-plugin process,
// after checking it against the plugins directory's sha256 manifest;
// restarts a plugin that crashes or overruns a call's deadline, with backoff
// and a crash-loop limit; renders overlay plugins on their own timers and
// streams their changed overlays to WatchOverlays; fans events out to
// plugins; and reports each plugin's state. A plugin can crash only itself.
package pluginhost

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/fault"
	"github.com/onair-studio/onair/internal/filter"
	"github.com/onair-studio/onair/internal/limits"
	"github.com/onair-studio/onair/internal/supervise"
	"github.com/onair-studio/onair/stub/pb"
)

// Options are how plugins are run and watched.
type Options struct {
	// Policy is how a crashed plugin is restarted: the same backoff and
	// crash-loop rules the master applies to its children. CrashLimit
	// crashes within CrashWindow put a plugin in the failed state until its
	// spec, its binary or its manifest entry changes, or it is restarted.
	// (Its ping settings are not used: calls have their own deadlines
	// below.)
	supervise.Policy
	// RenderEvery is how often overlay plugins are rendered.
	RenderEvery time.Duration
	// RenderDeadline bounds Render, CallDeadline every other call; a plugin
	// that overruns one is killed and restarted.
	RenderDeadline time.Duration
	CallDeadline   time.Duration
	Log            *slog.Logger
	// Stderr receives every line plugins write to stderr, prefixed with the
	// plugin's name. Nil drops them (the last lines are still quoted in
	// errors).
	Stderr io.Writer
}

// DefaultOptions is what the pluginhost child uses.
func DefaultOptions() Options {
	return Options{
		Policy:         supervise.DefaultPolicy(),
		RenderEvery:    100 * time.Millisecond,
		RenderDeadline: 500 * time.Millisecond,
		CallDeadline:   2 * time.Second,
	}
}

// Service implements pb.PluginHostServer.
type Service struct {
	pb.UnimplementedPluginHostServer
	o      Options
	ovs    *overlays
	closed chan struct{}
	watch  *dirWatch
	// live is every runner not unloaded, for Event and render kicks,
	// which must not wait for the service lock.
	live atomic.Pointer[[]*runner]

	mu        sync.Mutex
	isClosed  bool
	applied   uint64
	dir       string
	available []string
	order     []string // names, in configuration order
	runners   map[string]*runner
	// refused are configuration entries no runner was made for.
	refused []*pb.PluginState
	// gone are unloaded runners still stopping or reported as unloaded.
	gone []*runner
}

// New returns a pluginhost service with DefaultOptions.
func New() *Service { return NewWithOptions(DefaultOptions()) }

// NewWithOptions returns a pluginhost service; zero fields take defaults.
func NewWithOptions(o Options) *Service {
	d := DefaultOptions()
	for _, f := range []struct{ v, def *time.Duration }{
		{&o.FirstBackoff, &d.FirstBackoff}, {&o.MaxBackoff, &d.MaxBackoff}, {&o.StableAfter, &d.StableAfter},
		{&o.CrashWindow, &d.CrashWindow}, {&o.StartTimeout, &d.StartTimeout}, {&o.RenderEvery, &d.RenderEvery},
		{&o.RenderDeadline, &d.RenderDeadline}, {&o.CallDeadline, &d.CallDeadline},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if o.CrashLimit <= 0 {
		o.CrashLimit = d.CrashLimit
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{o: o, ovs: newOverlays(), closed: make(chan struct{}), runners: map[string]*runner{}}
	s.live.Store(&[]*runner{})
	s.watch = newDirWatch(o.Log, s.dirChanged)
	return s
}

// dirChanged runs when the plugins directory changed: the list of
// executables is refreshed, and each plugin whose binary or manifest entry
// changed starts anew (the checksum is checked again before it runs).
func (s *Service) dirChanged() {
	s.mu.Lock()
	if s.dir != "" {
		s.available, _ = Executables(s.dir)
	}
	s.mu.Unlock()
	for _, r := range *s.live.Load() {
		r.reloadIfChanged()
	}
}

// RestartPlugin restarts one plugin at once, also out of the failed state.
func (s *Service) RestartPlugin(_ context.Context, req *pb.PluginRequest) (*pb.PluginHostStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.runners[req.GetName()]
	if r == nil {
		return nil, status.Errorf(codes.NotFound, "no plugin %q is loaded (loaded: %s)",
			req.GetName(), strings.Join(s.order, ", "))
	}
	r.restartNow()
	return s.statusLocked(), nil
}

// DefaultDir is where plugins are found when the configuration names no
// directory: <user config dir>/onair/plugins.
func DefaultDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "onair", "plugins"), nil
}

// Configure applies cfg and returns at once (plugins load in the
// background). Applying the same config twice changes nothing.
func (s *Service) Configure(_ context.Context, cfg *pb.PluginHostConfig) (*pb.PluginHostStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return nil, status.Error(codes.Unavailable, "pluginhost is closing")
	}
	dir, dirErr := cfg.GetPluginsDir(), error(nil)
	if dir == "" {
		dir, dirErr = DefaultDir()
	}
	if dirErr == nil {
		dir, dirErr = filepath.Abs(dir)
	}
	s.dir, s.available = dir, nil
	if dirErr == nil {
		s.available, _ = Executables(dir)
		s.watch.watch(dir)
	}

	s.order, s.refused = nil, nil
	named := map[string]bool{}
	for _, sp := range cfg.GetPlugins() {
		name := sp.GetName()
		refuse := func(why string) {
			s.refused = append(s.refused, &pb.PluginState{Name: name, State: StateFailed, Error: why})
		}
		if named[name] {
			refuse(fmt.Sprintf("plugin %q is listed twice in the configuration: give each instance its own name "+
				"(and set binary)", name))
			continue
		}
		binary := sp.GetBinary()
		if binary == "" {
			binary = name
		}
		if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' }) {
			refuse(fmt.Sprintf("plugin name %q: want a non-empty name without control characters", name))
			continue
		}
		if dirErr != nil {
			refuse(fmt.Sprintf("no plugins directory: none is configured and %v", dirErr))
			continue
		}
		path, err := binaryPath(dir, binary)
		if err != nil {
			refuse(err.Error())
			continue
		}
		named[name] = true
		s.order = append(s.order, name)
		want := spec{path: path, params: maps.Clone(sp.GetParams()), socket: filter.SocketPath(cfg.GetFilterDir(), name)}
		if want.params == nil {
			want.params = map[string]string{}
		}
		switch r := s.runners[name]; {
		case r == nil:
			s.runners[name] = newRunner(name, want, s.o, s.ovs)
		case r.currentSpec().path != want.path || r.currentSpec().socket != want.socket:
			s.retire(r)
			s.runners[name] = newRunner(name, want, s.o, s.ovs)
		case !maps.Equal(r.currentSpec().params, want.params):
			r.setParams(want.params)
		default:
			r.retryIfFixed()
		}
	}
	for name, r := range s.runners {
		if !named[name] {
			s.retire(r)
			delete(s.runners, name)
		}
	}
	s.publishLive()
	s.applied = cfg.GetRevision()
	return s.statusLocked(), nil
}

// retire unloads r; it is reported as unloaded until another runner takes
// its name.
func (s *Service) retire(r *runner) {
	r.unload()
	kept := s.gone[:0]
	for _, g := range s.gone {
		if g.name != r.name {
			kept = append(kept, g)
		}
	}
	s.gone = append(kept, r)
}

func (s *Service) publishLive() {
	live := make([]*runner, 0, len(s.runners))
	for _, r := range s.runners {
		live = append(live, r)
	}
	s.live.Store(&live)
}

// Status answers the master's health pings; it takes the service lock so a
// wedged pluginhost stops answering.
func (s *Service) Status(context.Context, *pb.StatusRequest) (*pb.PluginHostStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statusLocked(), nil
}

func (s *Service) statusLocked() *pb.PluginHostStatus {
	t := s.ovs.target()
	st := &pb.PluginHostStatus{AppliedRevision: s.applied, PluginsDir: s.dir, Available: s.available,
		OverlayWidth: t.width, OverlayHeight: t.height}
	for _, name := range s.order {
		st.Plugins = append(st.Plugins, s.runners[name].snapshot())
	}
	st.Plugins = append(st.Plugins, s.refused...)
	var gone []*pb.PluginState
	for _, r := range s.gone {
		if _, back := s.runners[r.name]; !back {
			gone = append(gone, r.snapshot())
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].Name < gone[j].Name })
	st.Plugins = append(st.Plugins, gone...)
	return proto.Clone(st).(*pb.PluginHostStatus)
}

// InjectFault is for tests only (see package fault).
func (s *Service) InjectFault(_ context.Context, f *pb.Fault) (*pb.Empty, error) {
	return &pb.Empty{}, fault.Inject(f.GetKind(), &s.mu)
}

// Event hands e to every running plugin's queue and returns at once.
func (s *Service) Event(_ context.Context, e *pb.PluginEvent) (*pb.Empty, error) {
	if e.GetKind() == "" {
		return nil, status.Error(codes.InvalidArgument, "event without a kind")
	}
	e = proto.Clone(e).(*pb.PluginEvent)
	if e.UnixMs == 0 {
		e.UnixMs = time.Now().UnixMilli()
	}
	for _, r := range *s.live.Load() {
		r.postEvent(e)
	}
	return &pb.Empty{}, nil
}

// WatchOverlays streams overlays for an output of the requested size until
// the caller goes away or the service closes.
func (s *Service) WatchOverlays(req *pb.WatchOverlaysRequest, stream pb.PluginHost_WatchOverlaysServer) error {
	w, h := req.GetWidth(), req.GetHeight()
	if w <= 0 || h <= 0 || w > limits.MaxOutputWidth || h > limits.MaxOutputHeight {
		return status.Errorf(codes.InvalidArgument, "output size %dx%d: want 1..%dx%d",
			w, h, limits.MaxOutputWidth, limits.MaxOutputHeight)
	}
	sub, _ := s.ovs.subscribe(w, h)
	defer s.ovs.unsubscribe(sub)
	for _, r := range *s.live.Load() {
		signal(r.kick)
	}
	ctx := stream.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.closed:
			return status.Error(codes.Unavailable, "pluginhost is closing")
		case <-sub.wake:
		}
		for _, ov := range sub.take() {
			if err := stream.Send(ov); err != nil {
				return err
			}
		}
	}
}

// Close unloads every plugin and waits until their processes are gone.
func (s *Service) Close() {
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return
	}
	s.isClosed = true
	close(s.closed)
	s.watch.close()
	var all []*runner
	for _, r := range s.runners {
		r.unload()
		all = append(all, r)
	}
	all = append(all, s.gone...)
	s.mu.Unlock()
	for _, r := range all {
		<-r.done
	}
}
