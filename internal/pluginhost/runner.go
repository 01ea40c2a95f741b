package pluginhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/supervise"
	"github.com/onair-studio/onair/plugins/sdk"
	"github.com/onair-studio/onair/stub"
	"github.com/onair-studio/onair/stub/pb"
)

// Plugin states, as status reports them.
const (
	StateLoading  = "loading"
	StateRunning  = "running"
	StateBackoff  = "backoff"
	StateFailed   = "failed"
	StateUnloaded = "unloaded"
)

const (
	// exitPoll is how often a runner looks at its plugin's exit flag:
	// go-plugin offers no exit channel.
	exitPoll = 20 * time.Millisecond
	// eventQueue is how many events may wait for one plugin; more are
	// dropped (and counted) rather than making the sender wait.
	eventQueue = 256
	// stderrLines is how many of a plugin's last stderr lines are kept.
	stderrLines = 64
)

// spec is what the configuration asks of one plugin.
type spec struct {
	path   string            // the binary
	params map[string]string // as configured
	gen    uint64            // rises when params change
	// socket is where a filter plugin listens for the encoder; empty
	// when the master gave no filter directory.
	socket string
}

// runner supervises one plugin: it starts its process, configures it,
// renders it on its own timer, delivers its events, and restarts it with
// backoff when it crashes or overruns a deadline. Everything a runner asks of
// its plugin happens on the runner's goroutine, so calls never overlap and a
// slow plugin delays nobody else.
type runner struct {
	name   string
	o      Options
	log    *slog.Logger
	ovs    *overlays
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// retry wakes a runner waiting in backoff or failed; changed tells a
	// running one its params changed; kick asks for a render now.
	retry   chan struct{}
	changed chan struct{}
	kick    chan struct{}

	mu        sync.Mutex
	spec      spec
	st        *pb.PluginState
	events    chan *pb.PluginEvent // the running process's queue, else nil
	unloading bool
	nextStart time.Time
	// startFP is the binary and its manifest entry as they were when the
	// latest start began: a change on disk restarts or retries the plugin.
	startFP string
	// forced asks the running process to restart even though nothing
	// changed on disk; restart wakes it.
	forced  bool
	restart chan struct{}
}

func newRunner(name string, sp spec, o Options, ovs *overlays) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{
		name: name, o: o, log: o.Log.With("plugin", name), ovs: ovs,
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		retry: make(chan struct{}, 1), changed: make(chan struct{}, 1), kick: make(chan struct{}, 1),
		restart: make(chan struct{}, 1),
		spec:    sp,
		st:      &pb.PluginState{Name: name, State: StateLoading, Binary: sp.path},
	}
	go r.run()
	return r
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// update changes the reported state under the lock; an unloading runner
// stays "unloaded".
func (r *runner) update(f func(st *pb.PluginState)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r.st)
	if r.unloading {
		r.st.State = StateUnloaded
	}
}

// snapshot is the runner's state for status.
func (r *runner) snapshot() *pb.PluginState {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := proto.Clone(r.st).(*pb.PluginState)
	if st.State == StateBackoff {
		st.NextStartMs = max(time.Until(r.nextStart), 0).Milliseconds()
	}
	return st
}

func (r *runner) currentSpec() spec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.spec
}

// setParams applies new params: a running plugin is re-configured, a
// waiting one retried.
func (r *runner) setParams(params map[string]string) {
	r.mu.Lock()
	r.spec.params = maps.Clone(params)
	r.spec.gen++
	r.mu.Unlock()
	signal(r.changed)
	signal(r.retry)
}

// retryIfFixed retries a failed runner whose binary or manifest entry
// changed.
func (r *runner) retryIfFixed() {
	r.mu.Lock()
	failed, fp := r.st.State == StateFailed, r.startFP
	r.mu.Unlock()
	if failed && fingerprint(r.currentSpec().path) != fp {
		signal(r.retry)
	}
}

// reloadIfChanged starts the plugin anew when its binary or its manifest
// entry changed since it was started: a running one is restarted, a waiting
// or failed one tried at once. Nothing else about it changes.
func (r *runner) reloadIfChanged() {
	path := r.currentSpec().path
	fp := fingerprint(path)
	r.mu.Lock()
	changed, state := fp != r.startFP, r.st.State
	r.mu.Unlock()
	if !changed {
		return
	}
	if state == StateRunning || state == StateLoading {
		// A new build the manifest does not list yet (an install writes
		// the binary, then its manifest line) is refused, and the build
		// on air stays until the manifest approves the new one.
		if why := unapproved(path); why != "" {
			r.log.Warn("a new build on disk is refused; the running one stays", "why", why)
			r.update(func(st *pb.PluginState) { st.Error = "new build refused, the previous one still runs: " + why })
			return
		}
		r.log.Info("plugin binary or manifest changed on disk, starting it anew")
		signal(r.restart)
	}
	signal(r.retry)
}

// unapproved says why the manifest does not approve the binary at path,
// or "" when it does or when starting it will say what is wrong.
func unapproved(path string) string {
	m, err := ReadManifest(filepath.Dir(path))
	if err != nil {
		return ""
	}
	want, listed := m[filepath.Base(path)]
	actual, err := HashFile(path)
	if !listed || err != nil || bytes.Equal(actual, want) {
		return ""
	}
	return mismatch(path, actual, want)
}

// mismatch is what a user reads when a binary's checksum is not the one
// the manifest lists.
func mismatch(path string, actual, want []byte) string {
	dir := filepath.Dir(path)
	return fmt.Sprintf("checksum mismatch: the file's sha256 is %x but %s lists %x; if you trust this "+
		"binary, rewrite the manifest with 'pluginhost -write-manifest %s'", actual, ManifestName, want, dir)
}

// restartNow restarts the plugin at once, also out of backoff or failed.
func (r *runner) restartNow() {
	r.mu.Lock()
	r.forced = true
	r.mu.Unlock()
	signal(r.restart)
	signal(r.retry)
}

// restartWanted reports whether a restart signal is still due: forced, or
// the binary or manifest entry differs from the one this process started.
func (r *runner) restartWanted() bool {
	fp := fingerprint(r.currentSpec().path)
	r.mu.Lock()
	defer r.mu.Unlock()
	wanted := r.forced || fp != r.startFP
	r.forced = false
	return wanted
}

// unload stops the plugin; its overlay goes at once.
func (r *runner) unload() {
	r.mu.Lock()
	r.unloading = true
	r.st.State = StateUnloaded
	r.mu.Unlock()
	r.cancel()
	r.ovs.remove(r.name, r)
}

// postEvent queues e for the running plugin without waiting.
func (r *runner) postEvent(e *pb.PluginEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events != nil {
		select {
		case r.events <- e:
			return
		default:
		}
	}
	r.st.EventsDropped++
}

func (r *runner) setEvents(c chan *pb.PluginEvent) {
	r.mu.Lock()
	r.events = c
	r.mu.Unlock()
}

// fingerprint identifies a binary's current contents cheaply (size, mode,
// inode and modification time) and its line in the manifest, so that
// rewriting the manifest for one plugin leaves the others alone.
func fingerprint(path string) string {
	var b strings.Builder
	if fi, err := os.Stat(path); err == nil {
		var ino uint64
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			ino = st.Ino
		}
		fmt.Fprintf(&b, "%d %v %d %d;", fi.Size(), fi.Mode(), ino, fi.ModTime().UnixNano())
	} else {
		b.WriteString("-;")
	}
	m, err := ReadManifest(filepath.Dir(path))
	if err != nil {
		b.WriteString(err.Error())
	} else {
		fmt.Fprintf(&b, "%x", m[filepath.Base(path)])
	}
	return b.String()
}

type endKind int

const (
	endUnload    endKind = iota
	endCrash             // restart with backoff
	endPermanent         // wait until something changes
	endRestart           // asked for, or a new binary: start again at once
)

type ending struct {
	kind   endKind
	reason string
	ran    time.Duration
}

// permanentEnd is an ending another try cannot fix, explained for path.
func permanentEnd(path, format string, a ...any) ending {
	return ending{kind: endPermanent, reason: path + ": " + fmt.Sprintf(format, a...)}
}

func (r *runner) run() {
	defer close(r.done)
	b := supervise.NewCrashHistory(r.o.Policy)
	for starts := 0; ; starts++ {
		if starts > 0 {
			r.update(func(st *pb.PluginState) { st.Restarts++ })
		}
		e := r.runOnce()
		r.ovs.remove(r.name, r)
		r.update(func(st *pb.PluginState) { st.Pid = 0 })
		if e.kind == endUnload || r.ctx.Err() != nil {
			r.update(func(st *pb.PluginState) { st.State = StateUnloaded })
			r.log.Info("plugin unloaded")
			return
		}
		if e.kind == endRestart {
			r.log.Info("plugin restarting", "why", e.reason)
			b.Reset()
			continue
		}
		r.update(func(st *pb.PluginState) { st.LastExit = e.reason })
		delay, failed := time.Duration(0), e.kind == endPermanent
		if e.kind == endCrash {
			delay, failed = b.Crash(time.Now(), e.ran)
			if failed {
				e.reason = fmt.Sprintf("%s; it crashed %d times within %s, so it stays stopped until its "+
					"parameters, its binary or its manifest entry change, or it is restarted", e.reason, r.o.CrashLimit, r.o.CrashWindow)
			}
		}
		if failed {
			r.update(func(st *pb.PluginState) { st.State, st.Error = StateFailed, e.reason })
			r.log.Error("plugin failed", "err", e.reason)
		} else {
			r.mu.Lock()
			r.nextStart = time.Now().Add(delay)
			r.mu.Unlock()
			r.update(func(st *pb.PluginState) { st.State, st.Error = StateBackoff, e.reason })
			r.log.Warn("plugin stopped, restarting", "in", delay, "err", e.reason)
		}
		if !r.waitRetry(delay, failed) {
			r.update(func(st *pb.PluginState) { st.State = StateUnloaded })
			return
		}
		if failed {
			b.Reset()
		}
	}
}

// waitRetry waits delay (until a retry when failed). It returns false when
// the plugin is unloaded.
func (r *runner) waitRetry(delay time.Duration, failed bool) bool {
	var timer <-chan time.Time
	if !failed {
		t := time.NewTimer(delay)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-r.ctx.Done():
		return false
	case <-timer:
		return true
	case <-r.retry:
		return true
	}
}

// instance is one running process of the plugin.
type instance struct {
	pc pb.PluginClient
	// configured: a Configure of this process went well, so a later
	// refusal leaves the plugin running on the values before.
	configured bool
	info       sdk.Info
	gen        uint64 // spec generation configured
	// sizeGen is the output size generation last rendered for; needFull
	// asks for the image even if unchanged.
	sizeGen  uint64
	needFull bool
}

var protocolRE = regexp.MustCompile(`Plugin version: (\d+)`)

// runOnce starts the plugin once and runs it until it ends.
func (r *runner) runOnce() ending {
	select { // a retry asked for before this start is this start
	case <-r.retry:
	default:
	}
	sp := r.currentSpec()
	fp := fingerprint(sp.path)
	r.mu.Lock()
	r.startFP, r.forced = fp, false
	r.mu.Unlock()
	select { // a restart asked for before this start is this start
	case <-r.restart:
	default:
	}
	r.update(func(st *pb.PluginState) { st.State, st.Binary, st.Error = StateLoading, sp.path, "" })
	dir := filepath.Dir(sp.path)
	permanent := func(format string, a ...any) ending { return permanentEnd(sp.path, format, a...) }
	if err := checkBinary(sp.path); err != nil {
		return permanent("%v", err)
	}
	m, err := ReadManifest(dir)
	if errors.Is(err, errNoManifest) {
		return permanent("not verified: there is no manifest %s; write it with 'pluginhost -write-manifest %s' (see PLUGINS.md)",
			filepath.Join(dir, ManifestName), dir)
	}
	if err != nil {
		return permanent("not verified: %v", err)
	}
	sum, ok := m[filepath.Base(sp.path)]
	if !ok {
		return permanent("not listed in %s; add it with 'pluginhost -write-manifest %s'",
			filepath.Join(dir, ManifestName), dir)
	}

	cmd := exec.Command(sp.path)
	cmd.Dir = dir
	cmd.Env = pluginEnv()
	supervise.DieWithParent(cmd)
	tail := supervise.NewTailLines(stderrLines, r.name+" | ", r.o.Stderr)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  stub.PluginHandshake,
		Plugins:          stub.PluginSet,
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		StartTimeout:     r.o.StartTimeout,
		Stderr:           tail,
		SyncStdout:       tail,
		SyncStderr:       tail,
		GRPCDialOptions:  stub.PluginDialOptions(),
		Logger:           hclog.NewNullLogger(),
	})
	started := time.Now()
	// stop ends this process: crash says why it ended badly, with its exit
	// status and last words.
	stop := func() {
		supervise.Kill(cmd)
		client.Kill()
	}
	crash := func(what string) ending {
		stop()
		return ending{kind: endCrash, reason: exitReason(sp.path, what, cmd, tail), ran: time.Since(started)}
	}
	rpc, err := client.Client()
	if err != nil {
		stop()
		return startFailed(sp.path, sum, err, cmd, tail, started)
	}
	raw, err := rpc.Dispense(stub.PluginDispense)
	if err != nil {
		return crash("dispense: " + err.Error())
	}
	pc, ok := raw.(pb.PluginClient)
	if !ok {
		return crash(fmt.Sprintf("dispense: unexpected client type %T", raw))
	}
	pid := cmd.Process.Pid
	r.update(func(st *pb.PluginState) { st.Pid = int32(pid) })

	// failedCall turns a call's error into how the process ends, or nil
	// when the plugin merely answered with an error.
	failedCall := func(method string, err error, deadline time.Duration) *ending {
		var e ending
		switch code := status.Code(err); {
		case r.ctx.Err() != nil:
			stop()
			e = ending{kind: endUnload}
		case code == codes.DeadlineExceeded:
			e = crash(fmt.Sprintf("%s did not answer within %s, killed", method, deadline))
		case code == codes.Unavailable || code == codes.Canceled || client.Exited():
			e = crash("exited during " + method)
		default:
			return nil
		}
		return &e
	}

	ctx, cancel := context.WithTimeout(r.ctx, r.o.CallDeadline)
	pi, err := pc.Info(ctx, &pb.InfoRequest{})
	cancel()
	if err != nil {
		if e := failedCall("Info", err, r.o.CallDeadline); e != nil {
			return *e
		}
		stop()
		return permanent("Info failed: %s", status.Convert(err).Message())
	}
	info := sdk.InfoFromProto(pi)
	if err := sdk.CheckInfo(info); err != nil {
		stop()
		return permanent("its Info is unusable: %v", err)
	}
	r.update(func(st *pb.PluginState) {
		st.Version, st.Kind, st.Description, st.Schema = info.Version, info.Kind, info.Description, pi.GetParams()
	})
	inst := &instance{pc: pc, info: info, needFull: true}

	// configure applies sp's params; nil means it went well.
	configure := func(sp spec) *ending {
		params, err := sdk.Resolve(info.Params, sp.params)
		if err != nil {
			stop()
			e := permanent("parameters refused: %v", err)
			return &e
		}
		ctx, cancel := context.WithTimeout(r.ctx, r.o.CallDeadline)
		_, err = pc.Configure(ctx, &pb.PluginConfig{Params: params})
		cancel()
		r.update(func(st *pb.PluginState) { st.Configures++ })
		if err != nil {
			if e := failedCall("Configure", err, r.o.CallDeadline); e != nil {
				return e
			}
			if inst.configured {
				// A running plugin that refuses new values keeps its
				// previous ones: a filter stays on air as it was.
				inst.gen = sp.gen
				msg := sp.path + ": " + stub.ParamsRefused + status.Convert(err).Message()
				r.update(func(st *pb.PluginState) { st.Error = msg })
				r.log.Warn("new parameters refused; the previous ones stay", "err", msg)
				return nil
			}
			stop()
			e := permanent("parameters refused by the plugin: %s", status.Convert(err).Message())
			return &e
		}
		inst.gen, inst.configured = sp.gen, true
		r.update(func(st *pb.PluginState) { st.Params, st.Error = params, "" })
		return nil
	}
	if e := configure(sp); e != nil {
		return *e
	}
	if info.Kind == sdk.KindFilter {
		if sp.socket == "" {
			stop()
			return permanent("a filter plugin, but the master named no filter directory; list it under filters:")
		}
		ctx, cancel := context.WithTimeout(r.ctx, r.o.CallDeadline)
		_, err := pc.OpenFilter(ctx, &pb.OpenFilterRequest{Socket: sp.socket})
		cancel()
		if err != nil {
			if e := failedCall("OpenFilter", err, r.o.CallDeadline); e != nil {
				return *e
			}
			stop()
			return permanent("OpenFilter failed: %s", status.Convert(err).Message())
		}
	}

	events := make(chan *pb.PluginEvent, eventQueue)
	r.setEvents(events)
	defer r.setEvents(nil)
	r.update(func(st *pb.PluginState) { st.State, st.Error = StateRunning, "" })
	r.log.Info("plugin running", "pid", pid, "version", info.Version, "kind", info.Kind,
		"startup", time.Since(started).Round(time.Millisecond))

	exitTick := time.NewTicker(exitPoll)
	defer exitTick.Stop()
	var renderTick <-chan time.Time
	var kick chan struct{}
	if info.Kind == sdk.KindOverlay {
		t := time.NewTicker(r.o.RenderEvery)
		defer t.Stop()
		renderTick, kick = t.C, r.kick
		signal(kick) // the first frame at once
	}
	for {
		var e *ending
		select {
		case <-r.ctx.Done():
			client.Kill() // graceful: the plugin may flush what it holds
			return ending{kind: endUnload}
		case <-exitTick.C:
			if client.Exited() {
				return crash("exited")
			}
		case <-r.restart:
			if r.restartWanted() {
				client.Kill() // graceful, as for an unload
				return ending{kind: endRestart, reason: "restarted"}
			}
		case <-r.changed:
			select { // the retry sent with it is for a waiting runner
			case <-r.retry:
			default:
			}
			if sp := r.currentSpec(); sp.gen != inst.gen {
				e = configure(sp)
			}
		case <-renderTick:
			e = r.render(inst, failedCall)
		case <-kick:
			e = r.render(inst, failedCall)
		case ev := <-events:
			e = r.deliver(inst, ev, failedCall)
		}
		if e != nil {
			return *e
		}
	}
}

// render asks the plugin for its overlay and publishes it if it changed and
// is well-formed.
func (r *runner) render(inst *instance, failedCall func(string, error, time.Duration) *ending) *ending {
	t := r.ovs.target()
	if t.width == 0 || !t.watched {
		return nil
	}
	resend := inst.needFull || inst.sizeGen != t.gen
	ctx, cancel := context.WithTimeout(r.ctx, r.o.RenderDeadline)
	rep, err := inst.pc.Render(ctx, &pb.RenderRequest{Width: t.width, Height: t.height, Resend: resend})
	cancel()
	if err != nil {
		if e := failedCall("Render", err, r.o.RenderDeadline); e != nil {
			return e
		}
		r.reject(inst, "Render failed: "+status.Convert(err).Message())
		return nil
	}
	inst.sizeGen = t.gen
	r.update(func(st *pb.PluginState) { st.Renders++ })
	if !rep.GetChanged() {
		return nil
	}
	opacity, err := checkFrame(rep, t.width, t.height)
	if err != nil {
		r.reject(inst, "frame rejected: "+err.Error())
		return nil
	}
	inst.needFull = false
	r.update(func(st *pb.PluginState) { st.Error = "" })
	if rep.GetWidth() == 0 || rep.GetHeight() == 0 {
		r.ovs.remove(r.name, r)
		return nil
	}
	ov := &pb.Overlay{X: rep.GetX(), Y: rep.GetY(), Width: rep.GetWidth(), Height: rep.GetHeight(),
		Rgba: rep.GetRgba(), Opacity: opacity}
	if r.ovs.put(r.name, r, t.gen, ov) {
		r.update(func(st *pb.PluginState) { st.Frames++ })
	}
	return nil
}

// reject refuses a frame: the overlay goes, the error shows in status, and
// the next render asks for the whole image again.
func (r *runner) reject(inst *instance, why string) {
	inst.needFull = true
	r.ovs.remove(r.name, r)
	msg := r.currentSpec().path + ": " + why
	var repeated bool
	r.update(func(st *pb.PluginState) { repeated = st.Error == msg; st.RejectedFrames++; st.Error = msg })
	if !repeated {
		r.log.Warn("plugin frame rejected", "err", msg)
	}
}

// deliver hands one event to the plugin.
func (r *runner) deliver(inst *instance, ev *pb.PluginEvent, failedCall func(string, error, time.Duration) *ending) *ending {
	ctx, cancel := context.WithTimeout(r.ctx, r.o.CallDeadline)
	_, err := inst.pc.OnEvent(ctx, ev)
	cancel()
	if err != nil {
		if e := failedCall("OnEvent", err, r.o.CallDeadline); e != nil {
			return e
		}
		msg := r.currentSpec().path + ": OnEvent failed: " + status.Convert(err).Message()
		r.update(func(st *pb.PluginState) { st.Error = msg })
		r.log.Warn("plugin refused an event", "kind", ev.GetKind(), "err", msg)
		return nil
	}
	if inst.info.Kind == sdk.KindEvent {
		r.update(func(st *pb.PluginState) { st.Error = "" })
	}
	return nil
}

// checkBinary says what keeps path from being run, in words a user can act
// on.
func checkBinary(path string) error {
	if err := checkFileName(filepath.Base(path)); err != nil {
		return fmt.Errorf("not a valid plugin file name: %v", err)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errors.New("no such file: put the plugin binary in the plugins directory (see PLUGINS.md)")
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("not a regular file (%v)", fi.Mode())
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("not executable (mode %v): make it executable (chmod +x), then rewrite the manifest", fi.Mode())
	}
	return nil
}

// startFailed explains why a plugin process could not be started or did not
// complete the handshake. Failures that another try cannot fix are
// permanent.
func startFailed(path string, want []byte, err error, cmd *exec.Cmd, tail *supervise.TailLines, started time.Time) ending {
	permanent := func(format string, a ...any) ending { return permanentEnd(path, format, a...) }
	said := strings.Join(tail.Last(), "\n")
	exited0 := cmd.ProcessState != nil && cmd.ProcessState.Exited() && cmd.ProcessState.ExitCode() == 0
	msg := err.Error()
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		actual, herr := HashFile(path)
		if herr != nil {
			return permanent("checksum mismatch (and reading it failed: %v)", herr)
		}
		return permanent("%s", mismatch(path, actual, want))
	case strings.Contains(msg, "incompatible API version"):
		v := "another"
		if m := protocolRE.FindStringSubmatch(msg); m != nil {
			v = m[1]
		}
		return permanent("speaks plugin protocol %s but this pluginhost speaks %d: rebuild it against the current SDK",
			v, stub.PluginProtocolVersion)
	case strings.Contains(msg, "incompatible core API version"):
		return permanent("built with an incompatible go-plugin: rebuild it against the current SDK")
	case strings.Contains(said, "This binary is a plugin"):
		return permanent("not an OnAir plugin: it is a plugin for another program (it wants another handshake cookie)")
	case exited0:
		return permanent("not an OnAir plugin: it exited (exit status 0) without the plugin handshake")
	case strings.HasPrefix(msg, "Unrecognized remote plugin message: ") && !strings.HasPrefix(msg, "Unrecognized remote plugin message: \n"):
		line, _, _ := strings.Cut(strings.TrimPrefix(msg, "Unrecognized remote plugin message: "), "\n")
		return permanent("not an OnAir plugin: its first line on stdout, %q, is not the plugin handshake", line)
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return ending{kind: endCrash, ran: time.Since(started),
			reason: exitReason(path, "did not complete the plugin handshake in time, killed", cmd, tail)}
	}
	return ending{kind: endCrash, ran: time.Since(started),
		reason: exitReason(path, "failed to start: "+strings.ReplaceAll(msg, "\n", " "), cmd, tail)}
}

// exitReason is why a process ended: what happened, its exit status and
// what it said last.
func exitReason(path, what string, cmd *exec.Cmd, tail *supervise.TailLines) string {
	msg := fmt.Sprintf("%s: %s (%s)", path, what, supervise.ExitStatus(cmd))
	if w := tail.LastWords(); w != "" {
		msg += "; it said: " + w
	}
	return msg
}

// pluginEnv is the pluginhost's environment without go-plugin's and the
// master's handshake variables: go-plugin adds the plugin's own.
func pluginEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PLUGIN_") || k == stub.Handshake.MagicCookieKey || k == stub.PluginHandshake.MagicCookieKey {
			continue
		}
		env = append(env, kv)
	}
	return env
}
