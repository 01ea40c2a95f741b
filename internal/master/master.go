// Package master is the control process: it keeps the desired state, runs the
// children under supervision, reconciles them toward that state, and serves
// the Control API.
package master

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/fault"
	"github.com/onair-studio/onair/internal/state"
	"github.com/onair-studio/onair/internal/supervise"
	"github.com/onair-studio/onair/stub"
	"github.com/onair-studio/onair/stub/pb"
)

// Options configure a master.
type Options struct {
	Config config.Config
	// BinDir holds the encoder and pluginhost binaries.
	BinDir string
	Policy supervise.Policy
	Log    *slog.Logger
	// ChildStderr receives the children's stderr lines.
	ChildStderr io.Writer
}

// Master implements pb.ControlServer over the supervised children.
type Master struct {
	pb.UnimplementedControlServer

	log     *slog.Logger
	state   *state.Store
	encoder *supervise.Child[pb.EncoderClient]
	plugins *supervise.Child[pb.PluginHostClient]
}

// Start starts the children that opts.Config.Children names.
func Start(opts Options) (*Master, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	cfg := opts.Config
	m := &Master{
		log: opts.Log,
		state: state.NewStore(state.Desired{
			Encoder:    cfg.Encoder,
			PluginsDir: cfg.Plugins.Dir,
		}),
	}
	wantEncoder := cfg.Children == "all" || cfg.Children == "encoder"
	wantPlugins := cfg.Children == "all" || cfg.Children == "plugins"
	binary := func(name string) (func() *exec.Cmd, error) {
		path := filepath.Join(opts.BinDir, name)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s binary: %w (build it with 'make build', or set -bin-dir)", name, err)
		}
		return func() *exec.Cmd { return exec.Command(path) }, nil
	}
	if wantEncoder {
		cmd, err := binary("encoder")
		if err != nil {
			return nil, err
		}
		m.encoder = supervise.Start(supervise.Spec[pb.EncoderClient]{
			Name: "encoder", Command: cmd,
			Handshake: stub.Handshake, Plugins: stub.Plugins, Dispense: stub.EncoderName,
			Configure: func(ctx context.Context, c pb.EncoderClient) (uint64, error) {
				st, err := c.Configure(ctx, encoderConfig(m.state.Get()))
				return st.GetAppliedRevision(), err
			},
			Ping: func(ctx context.Context, c pb.EncoderClient) error {
				_, err := c.Status(ctx, &pb.StatusRequest{})
				return err
			},
			Policy: opts.Policy, DialOptions: stub.DialOptions(),
			Log: opts.Log, Stderr: opts.ChildStderr,
		})
	}
	if wantPlugins {
		cmd, err := binary("pluginhost")
		if err != nil {
			m.Close()
			return nil, err
		}
		m.plugins = supervise.Start(supervise.Spec[pb.PluginHostClient]{
			Name: "pluginhost", Command: cmd,
			Handshake: stub.Handshake, Plugins: stub.Plugins, Dispense: stub.PluginHostName,
			Configure: func(ctx context.Context, c pb.PluginHostClient) (uint64, error) {
				st, err := c.Configure(ctx, pluginHostConfig(m.state.Get()))
				return st.GetAppliedRevision(), err
			},
			Ping: func(ctx context.Context, c pb.PluginHostClient) error {
				_, err := c.Status(ctx, &pb.StatusRequest{})
				return err
			},
			Policy: opts.Policy, DialOptions: stub.DialOptions(),
			Log: opts.Log, Stderr: opts.ChildStderr,
		})
	}
	return m, nil
}

// Close stops the children.
func (m *Master) Close() {
	if m.encoder != nil {
		m.encoder.Close()
	}
	if m.plugins != nil {
		m.plugins.Close()
	}
}

func encoderConfig(d state.Desired) *pb.EncoderConfig {
	e := d.Encoder
	return &pb.EncoderConfig{
		Revision: d.Revision, Live: d.Live, Source: e.Source,
		Width: int32(e.Width), Height: int32(e.Height), Fps: int32(e.FPS),
		BitrateKbps: int32(e.BitrateKbps), KeyframeSeconds: int32(e.KeyframeSeconds),
		Backend: e.Backend, Preset: e.Preset,
	}
}

func pluginHostConfig(d state.Desired) *pb.PluginHostConfig {
	return &pb.PluginHostConfig{Revision: d.Revision, PluginsDir: d.PluginsDir}
}

// reconcile pushes a changed desired state to the running children.
func (m *Master) reconcile() {
	if m.encoder != nil {
		m.encoder.Reconfigure()
	}
	if m.plugins != nil {
		m.plugins.Reconfigure()
	}
}

// Status reports the master and each child.
func (m *Master) Status(context.Context, *pb.StatusRequest) (*pb.MasterStatus, error) {
	d := m.state.Get()
	st := &pb.MasterStatus{Pid: int32(os.Getpid()), Live: d.Live, Revision: d.Revision}
	for _, s := range m.snapshots() {
		st.Children = append(st.Children, &pb.ChildStatus{
			Name: s.Name, State: string(s.State), Pid: int32(s.PID),
			Restarts: uint32(s.Restarts), LastExit: s.LastExit,
			UptimeMs: s.Uptime.Milliseconds(), ConfiguredRevision: s.ConfiguredRevision,
			NextStartMs: s.NextStart.Milliseconds(), LastStderr: s.LastStderr,
		})
	}
	return st, nil
}

func (m *Master) snapshots() []supervise.Snapshot {
	var out []supervise.Snapshot
	if m.encoder != nil {
		out = append(out, m.encoder.Snapshot())
	}
	if m.plugins != nil {
		out = append(out, m.plugins.Snapshot())
	}
	return out
}

// Start takes the program live.
func (m *Master) Start(ctx context.Context, _ *pb.Empty) (*pb.MasterStatus, error) {
	return m.setLive(ctx, true)
}

// Stop takes the program off air.
func (m *Master) Stop(ctx context.Context, _ *pb.Empty) (*pb.MasterStatus, error) {
	return m.setLive(ctx, false)
}

func (m *Master) setLive(ctx context.Context, live bool) (*pb.MasterStatus, error) {
	if _, changed := m.state.Update(func(d *state.Desired) { d.Live = live }); changed {
		m.log.Info("desired state changed", "live", live)
		m.reconcile()
	}
	return m.Status(ctx, nil)
}

// Restart restarts one child at once, also out of the failed state.
func (m *Master) Restart(ctx context.Context, req *pb.ChildRequest) (*pb.MasterStatus, error) {
	switch req.GetChild() {
	case "encoder":
		if m.encoder != nil {
			m.encoder.Restart()
			return m.Status(ctx, nil)
		}
	case "pluginhost", "plugins":
		if m.plugins != nil {
			m.plugins.Restart()
			return m.Status(ctx, nil)
		}
	default:
		return nil, status.Errorf(codes.InvalidArgument, "no child %q (want encoder or pluginhost)", req.GetChild())
	}
	return nil, status.Errorf(codes.FailedPrecondition, "child %q is not run by this master (see -children)", req.GetChild())
}

// InjectFault forwards a test fault to a child; off unless fault injection is
// enabled.
func (m *Master) InjectFault(ctx context.Context, req *pb.FaultRequest) (*pb.Empty, error) {
	if !fault.Enabled() {
		return nil, status.Errorf(codes.PermissionDenied, "fault injection is off (start the master with %s=1)", fault.EnvVar)
	}
	var err error
	switch req.GetChild() {
	case "encoder":
		if c, ok := m.encoderClient(); ok {
			_, err = c.InjectFault(ctx, req.GetFault())
		} else {
			err = status.Error(codes.Unavailable, "encoder is not running")
		}
	case "pluginhost", "plugins":
		if c, ok := m.pluginsClient(); ok {
			_, err = c.InjectFault(ctx, req.GetFault())
		} else {
			err = status.Error(codes.Unavailable, "pluginhost is not running")
		}
	default:
		err = status.Errorf(codes.InvalidArgument, "no child %q", req.GetChild())
	}
	return &pb.Empty{}, err
}

func (m *Master) encoderClient() (pb.EncoderClient, bool) {
	if m.encoder == nil {
		return nil, false
	}
	return m.encoder.Client()
}

func (m *Master) pluginsClient() (pb.PluginHostClient, bool) {
	if m.plugins == nil {
		return nil, false
	}
	return m.plugins.Client()
}
