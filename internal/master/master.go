// Package master is the control process: it keeps the desired state, runs the
// children under supervision, reconciles them toward that state, and serves
// the Control API.
package master

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/internal/fault"
	"github.com/onair-studio/onair/internal/filter"
	"github.com/onair-studio/onair/internal/jobs"
	"github.com/onair-studio/onair/internal/opuspipe"
	"github.com/onair-studio/onair/internal/output"
	"github.com/onair-studio/onair/internal/privfile"
	"github.com/onair-studio/onair/internal/procstat"
	"github.com/onair-studio/onair/internal/replay"
	"github.com/onair-studio/onair/internal/rtsp"
	"github.com/onair-studio/onair/internal/slate"
	"github.com/onair-studio/onair/internal/state"
	"github.com/onair-studio/onair/internal/supervise"
	"github.com/onair-studio/onair/stub"
	"github.com/onair-studio/onair/stub/pb"
)

// Options configure a master.
type Options struct {
	Config config.Config
	// ConfigDir keeps the monitor password, the stream keys and the token.
	ConfigDir string
	// ConfigPath is the config file that destination changes are saved to;
	// empty saves nothing.
	ConfigPath string
	// BinDir holds the encoder and pluginhost binaries.
	BinDir string
	Policy supervise.Policy
	Log    *slog.Logger
	// ChildStderr receives the children's stderr lines.
	ChildStderr io.Writer
	// Logs, if set, is what the master's log and ChildStderr also write to;
	// WatchEvents serves its lines.
	Logs *LogBus
}

// Master implements pb.ControlServer over the supervised children.
type Master struct {
	pb.UnimplementedControlServer

	log        *slog.Logger
	logs       *LogBus
	configPath string
	// changes makes each API change (check, apply, save) whole: two at
	// once would check against a state the other is changing, and could
	// save in another order than they applied.
	changes    sync.Mutex
	renditions []config.Rendition // all configured, used or not
	state      *state.Store
	encoder    *supervise.Child[pb.EncoderClient]
	plugins    *supervise.Child[pb.PluginHostClient]
	worker     *supervise.Child[pb.WorkerClient]
	rtsp       *rtsp.Server
	program    *program
	slate      *programSlate
	outputs    *outputs
	rtmp       *RTMPServer
	fallback   fallback
	// hotkeys are the window's keys (status.hotkeys), fixed at start.
	hotkeys []*pb.Hotkey
	// openingFile is where the encoder names the hardware backend it is
	// opening, so a driver that crashes it while opening is known.
	openingFile string
	// returnURLFile holds the return path's credentials for tests (see
	// ReturnURLFile); empty unless fault injection is on.
	returnURLFile string
	overlays      *overlayRelay
	levels        *levelRelay
	recording     recording
	replay        *replay.Buffer
	jobs          *jobs.Store        // nil without a config dir
	dispatch      *dispatcher        // hands media jobs to the worker
	saves         sync.WaitGroup     // replays being written
	stop          context.CancelFunc // ends the master's own goroutines
	// encoderStatus and pluginsStatus are the children's last answers to a
	// health ping.
	encoderStatus atomic.Pointer[pb.EncoderStatus]
	spareStatus   atomic.Pointer[pb.EncoderStatus]
	pluginsStatus atomic.Pointer[pb.PluginHostStatus]
	filterDir     string // removed on Close
}

// monitorUser is the RTSP user for players; its password is kept in the
// config dir so a player's saved URL keeps working across runs.
const (
	monitorUser         = "monitor"
	monitorPasswordFile = "monitor-password"
)

// ReturnURLFile, in the config dir, holds the return path's publish URL
// with this run's credentials, written only with fault injection on: tests
// publish a program into the master themselves, as an encoder would.
const ReturnURLFile = "test-return-url"

// slowRetryEnv shortens a failed child's slow retry (a duration), for
// tests only: it counts only with fault injection on.
const slowRetryEnv = "ONAIR_TEST_SLOW_RETRY"

// Start starts the children that opts.Config.Children names.
func Start(opts Options) (*Master, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if d, err := time.ParseDuration(os.Getenv(slowRetryEnv)); err == nil && d > 0 && fault.Enabled() {
		opts.Policy.SlowRetry = d
	}
	cfg := opts.Config
	m := &Master{
		log: opts.Log, logs: opts.Logs, configPath: opts.ConfigPath, renditions: cfg.Renditions,
		state: state.NewStore(state.Desired{
			Live:       cfg.Live,
			Encoder:    cfg.Encoder,
			PluginsDir: cfg.Plugins.Dir,
			Plugins:    cfg.Plugins.List,
			Filters:    cfg.Filters,
			Renditions: usedRenditions(cfg.Renditions, cfg.Destinations),
			Audio:      cfg.Audio,
			Scenes:     cfg.Scenes,
		}),
		program:  &program{},
		dispatch: newDispatcher(),
		hotkeys:  windowKeys(cfg.Hotkeys),
	}
	// The relay exists before the children (their configure hooks use it);
	// its goroutine starts after them.
	m.overlays = newOverlayRelay(opts.Log, m.encoderClient, m.pluginsClient, func() (int32, int32) {
		e := m.state.Get().Encoder
		return int32(e.Width), int32(e.Height)
	})
	m.levels = newLevelRelay(m.encoderClient)
	fail := func(err error) (*Master, error) {
		m.Close()
		return nil, err
	}
	// Filter plugins listen for the encoder in a directory only this user
	// can enter (MkdirTemp makes it 0700).
	filterDir, err := os.MkdirTemp("", "onair-filters-")
	if err != nil {
		return fail(err)
	}
	m.filterDir = filterDir
	m.state.Update(func(d *state.Desired) { d.FilterDir = filterDir })
	monitorPass, err := control.LoadOrCreateSecret(opts.ConfigDir, monitorPasswordFile)
	if err != nil {
		return fail(err)
	}
	// The encoder gets fresh publish credentials each run: nothing else on
	// the machine can inject a program.
	m.rtsp, err = rtsp.NewServer(cfg.Monitor.Listen, rtsp.RandomCredentials("encoder"),
		rtsp.Credentials{User: monitorUser, Pass: monitorPass}, m.program, opts.Log)
	if err != nil {
		return fail(err)
	}
	if fault.Enabled() && opts.ConfigDir != "" {
		// A credential: owner-only, and gone when the master stops.
		m.returnURLFile = filepath.Join(opts.ConfigDir, ReturnURLFile)
		if err := privfile.Write(m.returnURLFile, []byte(m.rtsp.PublishURL(programPath))); err != nil {
			return fail(err)
		}
	}
	dests := cfg.Destinations
	if cfg.RTMPServer.Listen != "" {
		if m.rtmp, err = StartRTMPServer(cfg.RTMPServer.Listen, opts.ConfigDir, opts.Log); err != nil {
			return fail(err)
		}
		if cfg.RTMPServer.SRTListen != "" {
			if err := m.rtmp.ListenSRT(cfg.RTMPServer.SRTListen); err != nil {
				return fail(err)
			}
		}
		if len(dests) == 0 {
			dests = []config.Destination{{URL: m.rtmp.publishURL()}}
		}
	}
	m.outputs = newOutputs(dests, keyStore{dir: filepath.Join(opts.ConfigDir, "stream-keys")}, cfg.Retry, m.requestKeyframe, opts.Log)
	m.outputs.opus = func() *exec.Cmd { // the encoder binary holds the codecs
		cmd := exec.Command(filepath.Join(opts.BinDir, "encoder"), opuspipe.Arg)
		supervise.DieWithParent(cmd)
		return cmd
	}
	m.outputs.onState = func(dest string, s output.DestinationState, err error) {
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		m.event("destination_state", "destination", dest, "state", string(s), "error", msg)
	}
	// The outputs hear the program through the slate filter, which covers
	// an encoder outage; the recording keeps only real pictures.
	m.slate = &programSlate{filter: slate.New(m.outputs, time.Now, m.requestKeyframe, opts.Log),
		image: cfg.Slate.Image, log: opts.Log, made: map[string]*pb.SlateRequest{}}
	m.program.Add(m.slate.filter)
	if err := m.startJobs(opts.ConfigDir, cfg.Replay.Seconds); err != nil {
		return fail(err)
	}
	wantEncoder := config.Runs(cfg.Children, "encoder")
	wantPlugins := config.Runs(cfg.Children, "plugins")
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
			return fail(err)
		}
		if opts.ConfigDir != "" {
			m.openingFile = filepath.Join(opts.ConfigDir, openingFileName)
			_ = os.Remove(m.openingFile) // a previous run's is stale
		}
		configure := func(ctx context.Context, c pb.EncoderClient) (uint64, error) {
			cfg := encoderConfig(m.state.Get())
			cfg.ReturnUrl = m.rtsp.PublishURL(programPath)
			cfg.OpeningFile = m.openingFile
			st, err := c.Configure(ctx, cfg)
			if err == nil {
				m.encoderStatus.Store(st)
				m.overlays.encoderRestarted()
				go m.slate.refresh(c, m.state.Get)
			}
			return st.GetAppliedRevision(), err
		}
		var spare *supervise.Spare[pb.EncoderClient]
		if cfg.Encoder.Standby {
			spare = m.spareSpec(configure)
		}
		m.encoder = supervise.Start(supervise.Spec[pb.EncoderClient]{
			Name: "encoder", Command: cmd,
			Handshake: stub.Handshake, Plugins: stub.Plugins, Dispense: stub.EncoderName,
			Configure: configure,
			Spare:     spare,
			Ping: func(ctx context.Context, c pb.EncoderClient) error {
				st, err := c.Status(ctx, &pb.StatusRequest{})
				if err == nil {
					m.encoderStatus.Store(st)
				}
				return err
			},
			OnCrash: func(s supervise.Snapshot) bool {
				m.event("child_restarted", "child", "encoder", "reason", s.LastExit)
				return m.encoderCrashed(s)
			},
			Policy: opts.Policy, DialOptions: stub.DialOptions(),
			Log: opts.Log, Stderr: opts.ChildStderr,
		})
	}
	if wantPlugins {
		cmd, err := binary("pluginhost")
		if err != nil {
			return fail(err)
		}
		m.plugins = supervise.Start(supervise.Spec[pb.PluginHostClient]{
			Name: "pluginhost", Command: cmd,
			Handshake: stub.Handshake, Plugins: stub.Plugins, Dispense: stub.PluginHostName,
			Configure: func(ctx context.Context, c pb.PluginHostClient) (uint64, error) {
				st, err := c.Configure(ctx, pluginHostConfig(m.state.Get()))
				if err == nil {
					m.pluginsStatus.Store(st)
				}
				return st.GetAppliedRevision(), err
			},
			Ping: func(ctx context.Context, c pb.PluginHostClient) error {
				st, err := c.Status(ctx, &pb.StatusRequest{})
				if err == nil {
					m.pluginsStatus.Store(st)
				}
				return err
			},
			OnCrash: func(s supervise.Snapshot) bool {
				m.event("child_restarted", "child", "pluginhost", "reason", s.LastExit)
				return false
			},
			Policy: opts.Policy, DialOptions: stub.DialOptions(),
			Log: opts.Log, Stderr: opts.ChildStderr,
		})
	}
	if config.Runs(cfg.Children, "worker") {
		cmd, err := binary("worker")
		if err != nil {
			return fail(err)
		}
		m.worker = supervise.Start(supervise.Spec[pb.WorkerClient]{
			Name: "worker", Command: cmd,
			Handshake: stub.Handshake, Plugins: stub.Plugins, Dispense: stub.WorkerName,
			Configure: func(ctx context.Context, c pb.WorkerClient) (uint64, error) {
				rev := m.state.Get().Revision
				_, err := c.Configure(ctx, &pb.WorkerConfig{Revision: rev})
				return rev, err
			},
			Ping: func(ctx context.Context, c pb.WorkerClient) error {
				_, err := c.Status(ctx, &pb.StatusRequest{})
				return err
			},
			OnCrash: func(s supervise.Snapshot) bool {
				m.event("child_restarted", "child", "worker", "reason", s.LastExit)
				return false
			},
			Policy: opts.Policy, DialOptions: stub.DialOptions(),
			Log: opts.Log, Stderr: opts.ChildStderr,
		})
	}
	// Outputs and overlays start last: they talk to the children.
	m.outputs.setLive(cfg.Live)
	m.slate.filter.SetLive(cfg.Live)
	ctx, stop := context.WithCancel(context.Background())
	m.stop = stop
	if m.worker != nil && m.jobs != nil {
		m.startDispatch(ctx, cfg.Jobs.Concurrency)
	}
	if m.plugins != nil { // overlays come from plugins only
		go m.overlays.run(ctx)
	}
	go m.levels.run(ctx)
	go m.slate.filter.Run(ctx)
	if cfg.Record.Path != "" {
		if err := m.startRecording(cfg.Record.Path, cfg.Record.Rendition); err != nil {
			// The broadcast matters more than the recording: say so and go on.
			m.log.Error("recording did not start", "err", err)
		}
	}
	return m, nil
}

// Close stops the children and the return path.
func (m *Master) Close() {
	if m.stop != nil {
		m.stop()
	}
	m.dispatch.loops.Wait() // running jobs are stopped and queued again
	if m.worker != nil {
		m.worker.Close()
	}
	if err := m.stopRecording(); err != nil {
		m.log.Error("recording", "err", err)
	}
	if m.encoder != nil {
		m.encoder.Close()
	}
	if m.openingFile != "" {
		_ = os.Remove(m.openingFile)
	}
	if m.returnURLFile != "" {
		_ = os.Remove(m.returnURLFile)
	}
	if m.plugins != nil {
		m.plugins.Close()
	}
	if m.filterDir != "" {
		_ = os.RemoveAll(m.filterDir)
	}
	if m.outputs != nil {
		m.outputs.close()
	}
	if m.rtsp != nil {
		m.rtsp.Close()
	}
	if m.rtmp != nil {
		m.rtmp.Close()
	}
	m.saves.Wait() // a replay being written ends whole
	if m.jobs != nil {
		m.jobs.Close()
	}
}

// requestKeyframe asks the encoder for an IDR without waiting for it: a
// (re)connecting destination then starts at once.
func (m *Master) requestKeyframe() {
	c, ok := m.encoderClient()
	if !ok {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _ = c.ForceKeyframe(ctx, &pb.Empty{})
	}()
}

// openingFileName is the encoder's opening file in the config dir.
const openingFileName = "encoder-opening"

// encoderCrashed moves the encoder off a hardware backend that keeps
// crashing, or at once off one whose driver crashed it while opening (that
// would happen on every start). It reports true when it did, so the crash
// loop count starts over for the next backend.
func (m *Master) encoderCrashed(supervise.Snapshot) bool {
	var (
		reason   string
		fellBack bool
	)
	backend := m.backendOpening()
	if backend != "" {
		reason, fellBack = m.fallback.crashedOpening(backend), true
	} else {
		backend = m.encoderStatus.Load().GetBackend()
		reason, fellBack = m.fallback.crashed(backend, time.Now())
	}
	if !fellBack {
		return false
	}
	m.log.Warn("encoder fallback", "reason", reason)
	m.state.Update(exclude(backend))
	return true
}

// backendOpening is the hardware backend a dead encoder was opening, if it
// died while opening one; the record is cleared for the next encoder.
func (m *Master) backendOpening() string {
	if m.openingFile == "" {
		return ""
	}
	b, err := os.ReadFile(m.openingFile)
	if err != nil {
		return ""
	}
	_ = os.Remove(m.openingFile)
	return strings.TrimSpace(string(b))
}

func encoderConfig(d state.Desired) *pb.EncoderConfig {
	e := d.Encoder
	c := &pb.EncoderConfig{
		Revision: d.Revision, Live: d.Live, Source: e.Source,
		Width: int32(e.Width), Height: int32(e.Height), Fps: int32(e.FPS),
		BitrateKbps: int32(e.BitrateKbps), KeyframeSeconds: int32(e.KeyframeSeconds),
		Backend: e.Backend, Preset: e.Preset, ExcludeBackends: d.ExcludeBackends,
	}
	c.Layers = pbLayers(e.Layers)
	if sc := d.Scenes.OnAir(); sc != nil {
		c.Scene, c.Layers = sc.Name, pbLayers(sc.Layers)
		c.Transition, c.TransitionMs = string(d.SwitchedWith.Kind), int32(d.SwitchedWith.Duration.Milliseconds())
		if i := d.Scenes.Find(d.Scenes.Preview); i >= 0 {
			c.PreviewScene, c.PreviewLayers = d.Scenes.Preview, pbLayers(d.Scenes.List[i].Layers)
		}
	}
	for _, r := range d.Renditions {
		c.Renditions = append(c.Renditions, &pb.Rendition{
			Name: r.Name, Width: int32(r.Width), Height: int32(r.Height), BitrateKbps: int32(r.BitrateKbps),
		})
	}
	c.Audio = audioSettings(d.Audio)
	for _, f := range d.Filters {
		c.Filters = append(c.Filters, &pb.FilterSpec{Name: f.Name, Layer: f.Layer, Socket: filter.SocketPath(d.FilterDir, f.Name)})
	}
	return c
}

func pluginHostConfig(d state.Desired) *pb.PluginHostConfig {
	c := &pb.PluginHostConfig{Revision: d.Revision, PluginsDir: d.PluginsDir, FilterDir: d.FilterDir}
	for _, p := range d.Plugins {
		c.Plugins = append(c.Plugins, &pb.PluginSpec{Name: p.Name, Binary: p.Binary, Params: p.Params})
	}
	for _, f := range d.Filters {
		c.Plugins = append(c.Plugins, &pb.PluginSpec{Name: f.Name, Binary: f.Binary, Params: f.Params})
	}
	return c
}

// event tells the plugins something happened, without waiting for them.
func (m *Master) event(kind string, kv ...string) {
	c, ok := m.pluginsClient()
	if !ok {
		return
	}
	ev := &pb.PluginEvent{Kind: kind, Fields: map[string]string{}, UnixMs: time.Now().UnixMilli()}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Fields[kv[i]] = kv[i+1]
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, _ = c.Event(ctx, ev)
	}()
}

// usedRenditions are the renditions some destination names: a rendition no
// one uses is not encoded.
func usedRenditions(all []config.Rendition, dests []config.Destination) []config.Rendition {
	var used []config.Rendition
	for _, r := range all {
		for _, d := range dests {
			if d.Rendition == r.Name {
				used = append(used, r)
				break
			}
		}
	}
	return used
}

// reconcile pushes a changed desired state to the running children.
func (m *Master) reconcile() {
	if m.encoder != nil {
		m.encoder.Reconfigure()
	}
	if m.plugins != nil {
		m.plugins.Reconfigure()
	}
	if m.worker != nil {
		m.worker.Reconfigure()
	}
}

// Status reports the master and each child.
func (m *Master) Status(context.Context, *pb.StatusRequest) (*pb.MasterStatus, error) {
	d := m.state.Get()
	st := &pb.MasterStatus{
		Pid: int32(os.Getpid()), Live: d.Live, Revision: d.Revision,
		ProgramFrames: m.program.frames.Load(),
		Monitor:       redacted(m.rtsp.MonitorURL(programPath)),
		Fallback:      m.fallback.last(),
		Destinations:  m.outputs.status(),
		Goroutines:    int32(runtime.NumGoroutine()),
		Slate:         m.slate.filter.Showing(),
	}
	// Players are pointed at the embedded server only while the program
	// goes there: with other destinations it runs, but nothing plays.
	if m.rtmp != nil && m.outputs.feeds(m.rtmp.publishURL()) {
		st.RtmpPlay = m.rtmp.PlayURL()
	}
	if m.encoder != nil {
		st.Encoder = m.encoderStatus.Load()
		st.Audio = st.Encoder.GetAudio()
	}
	if m.plugins != nil {
		st.Plugins = m.pluginsStatus.Load().GetPlugins()
	}
	st.Recording = m.recordingStatus()
	st.Replay = m.replayStatus()
	fillDesired(st, d)
	st.Hotkeys = m.hotkeys
	for _, s := range m.snapshots() {
		st.Children = append(st.Children, &pb.ChildStatus{
			Name: s.Name, State: string(s.State), Pid: int32(s.PID),
			Restarts: uint32(s.Restarts), LastExit: s.LastExit,
			UptimeMs: s.Uptime.Milliseconds(), ConfiguredRevision: s.ConfiguredRevision,
			NextStartMs: s.NextStart.Milliseconds(), LastStderr: s.LastStderr,
			MemoryBytes: procstat.ResidentBytes(s.PID), Note: m.childNote(s),
		})
	}
	st.CpuTicks, _ = procstat.Ticks(pids(st))
	return st, nil
}

// pids are the master's and its children's processes, plugins included.
func pids(st *pb.MasterStatus) []int {
	out := []int{int(st.GetPid())}
	for _, c := range st.GetChildren() {
		if c.GetPid() > 0 {
			out = append(out, int(c.GetPid()))
		}
	}
	for _, p := range st.GetPlugins() {
		if p.GetPid() > 0 {
			out = append(out, int(p.GetPid()))
		}
	}
	return out
}

func (m *Master) snapshots() []supervise.Snapshot {
	var out []supervise.Snapshot
	if m.encoder != nil {
		out = append(out, m.encoder.Snapshot())
		if s, ok := m.encoder.SpareSnapshot(); ok {
			out = append(out, s)
		}
	}
	if m.plugins != nil {
		out = append(out, m.plugins.Snapshot())
	}
	if m.worker != nil {
		out = append(out, m.worker.Snapshot())
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
		m.outputs.setLive(live)
		m.slate.filter.SetLive(live)
		if live {
			m.event("stream_started")
		} else {
			m.event("stream_stopped")
		}
		m.reconcile()
	}
	return m.Status(ctx, nil)
}

// SetBitrate changes the video bitrate; the encoder applies it live.
func (m *Master) SetBitrate(ctx context.Context, req *pb.BitrateRequest) (*pb.MasterStatus, error) {
	kbps := int(req.GetKbps())
	if err := config.CheckBitrate(kbps); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if _, changed := m.state.Update(func(d *state.Desired) { d.Encoder.BitrateKbps = kbps }); changed {
		m.log.Info("desired state changed", "bitrate_kbps", kbps)
		m.reconcile()
	}
	return m.Status(ctx, nil)
}

// Snapshot asks the encoder for the current program picture.
func (m *Master) Snapshot(ctx context.Context, req *pb.SnapshotRequest) (*pb.SnapshotReply, error) {
	c, ok := m.encoderClient()
	if !ok {
		return nil, status.Error(codes.Unavailable, "encoder is not running")
	}
	return c.Snapshot(ctx, req)
}

// MonitorURL is the full RTSP address for players; the caller holds the
// Control API token, so it may see the password.
func (m *Master) MonitorURL(context.Context, *pb.Empty) (*pb.MonitorURLReply, error) {
	return &pb.MonitorURLReply{Url: m.rtsp.MonitorURL(programPath)}, nil
}

// SetStreamKey stores a destination's key and reconnects it.
func (m *Master) SetStreamKey(ctx context.Context, req *pb.StreamKeyRequest) (*pb.MasterStatus, error) {
	if err := m.outputs.setKey(req.GetName(), req.GetKey()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	m.log.Info("stream key stored", "destination", req.GetName())
	return m.Status(ctx, nil)
}

// Reconnect skips a retrying destination's wait.
func (m *Master) Reconnect(ctx context.Context, req *pb.DestinationRequest) (*pb.MasterStatus, error) {
	if !m.outputs.reconnect(int(req.GetIndex())) {
		return nil, status.Errorf(codes.InvalidArgument, "no live destination %d (see status; destinations run only while live)", req.GetIndex())
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
	case spareName:
		if m.encoder != nil && m.encoder.RestartSpare() {
			return m.Status(ctx, nil)
		}
	case "pluginhost", "plugins":
		if m.plugins != nil {
			m.plugins.Restart()
			return m.Status(ctx, nil)
		}
	case "worker":
		if m.worker != nil {
			m.worker.Restart()
			return m.Status(ctx, nil)
		}
	default:
		return nil, status.Errorf(codes.InvalidArgument, "no child %q (want encoder, %s, pluginhost or worker)", req.GetChild(), spareName)
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

// redacted hides the password in a URL for logs and status.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
