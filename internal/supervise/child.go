// Package supervise starts a child process through go-plugin, watches it, and
// restarts it when it exits or stops answering, re-applying the desired state
// before the new child counts as running.
package supervise

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// State is where a child is in its life.
type State string

const (
	Starting    State = "starting"
	Configuring State = "configuring"
	Running     State = "running"
	Backoff     State = "backoff"
	Failed      State = "failed"
	Stopped     State = "stopped"
	// Standby is a spare child, configured and ready to be promoted.
	Standby State = "standby"
)

// exitPoll is how often the watcher looks at the child's exit flag once the
// child has ended (go-plugin offers no exit channel; exitOf says when to
// look): 10 ms keeps crash detection well under 50 ms.
const exitPoll = 10 * time.Millisecond

// Spec describes one child. T is the client type the plugin dispenses.
type Spec[T any] struct {
	Name string
	// Command builds a fresh command for each start.
	Command func() *exec.Cmd
	// Handshake, Plugins and Dispense name the go-plugin service to
	// dispense as T.
	Handshake plugin.HandshakeConfig
	Plugins   plugin.PluginSet
	Dispense  string
	// Configure applies the current desired state and returns its revision.
	Configure func(ctx context.Context, c T) (uint64, error)
	// Ping is the health check; it must go through the child's service, so a
	// wedged service counts as hung.
	Ping func(ctx context.Context, c T) error
	// OnCrash, if set, hears of each crash; returning true says its cause
	// was dealt with (say, a fallback to another backend), so the crash loop
	// count starts over.
	OnCrash     func(Snapshot) bool
	Policy      Policy
	DialOptions []grpc.DialOption
	Log         *slog.Logger
	// Stderr receives every line the child writes to stderr, prefixed with
	// its name. Nil drops them (the last lines are still kept for reports).
	Stderr io.Writer
	// Spare, if set, keeps a second child started and configured beside
	// the running one.
	Spare *Spare[T]
}

// Spare describes the spare child. When the running child dies or hangs,
// the spare is promoted instead of starting a new process, and a new spare
// starts in the background. A spare's own death is not a crash: it is just
// replaced, and the crash loop rule never hears of it.
type Spare[T any] struct {
	// Name is the spare's name in snapshots.
	Name string
	// Configure applies the current desired state to the spare, which
	// holds it without acting on it; it is called again on every
	// Reconfigure.
	Configure func(ctx context.Context, c T) (uint64, error)
	// Promote makes the spare the running child with the current desired
	// state.
	Promote func(ctx context.Context, c T) (uint64, error)
	// Ping is the spare's health check.
	Ping func(ctx context.Context, c T) error
}

// Snapshot is a child's state as the Control API reports it.
type Snapshot struct {
	Name               string
	State              State
	PID                int
	Restarts           int
	LastExit           string
	Uptime             time.Duration
	ConfiguredRevision uint64
	NextStart          time.Duration
	LastStderr         []string
}

type command int

const (
	cmdRestart command = iota
	cmdReconfigure
)

// Child supervises one child process.
type Child[T any] struct {
	spec   Spec[T]
	log    *slog.Logger
	cmds   chan command
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	state     State
	pid       int
	restarts  int
	lastExit  string
	since     time.Time // running since
	nextStart time.Time
	revision  uint64
	client    T
	hasClient bool
	stderr    *TailLines

	// spare is the ready spare, nil while there is none; spareSnap is its
	// state for reports.
	spare        *proc[T]
	spareSnap    Snapshot
	spareSince   time.Time
	spareWanted  chan struct{}
	spareConfig  chan struct{}
	spareStopped chan struct{}
}

// proc is one started child process and its client.
type proc[T any] struct {
	cmd    *exec.Cmd
	client *plugin.Client
	rpc    T
	stderr *TailLines
	// taken is closed when the spare is promoted: the spare's watcher
	// lets go of it.
	taken chan struct{}
}

func (p *proc[T]) kill() {
	Kill(p.cmd)
	p.client.Kill()
}

// Start begins supervising; the first start happens at once.
func Start[T any](spec Spec[T]) *Child[T] {
	if spec.Log == nil {
		spec.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Child[T]{
		spec:   spec,
		log:    spec.Log.With("child", spec.Name),
		cmds:   make(chan command, 4),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
		state:  Starting,
	}
	if spec.Spare != nil {
		c.spareWanted = make(chan struct{}, 1)
		c.spareConfig = make(chan struct{}, 1)
		c.spareStopped = make(chan struct{})
		c.spareSnap = Snapshot{Name: spec.Spare.Name, State: Stopped}
		go c.keepSpare()
	}
	go c.run()
	return c
}

// Snapshot returns the child's current state.
func (c *Child[T]) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Snapshot{
		Name:               c.spec.Name,
		State:              c.state,
		PID:                c.pid,
		Restarts:           c.restarts,
		LastExit:           c.lastExit,
		ConfiguredRevision: c.revision,
	}
	if c.state == Running {
		s.Uptime = time.Since(c.since)
	}
	if c.state == Backoff || c.state == Failed {
		s.NextStart = max(time.Until(c.nextStart), 0)
	}
	if c.stderr != nil {
		s.LastStderr = c.stderr.Last()
	}
	return s
}

// Client returns the running child's client.
func (c *Child[T]) Client() (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client, c.hasClient
}

// Restart kills the child and starts it at once, forgetting its crash
// history; from the failed state it skips the wait for the slow retry.
func (c *Child[T]) Restart() { c.send(cmdRestart) }

// Reconfigure re-applies the desired state to the running child and the
// spare.
func (c *Child[T]) Reconfigure() {
	c.send(cmdReconfigure)
	if c.spareConfig != nil {
		select {
		case c.spareConfig <- struct{}{}:
		default: // one is pending already; it reads the newest state
		}
	}
}

func (c *Child[T]) send(cmd command) {
	select {
	case c.cmds <- cmd:
	case <-c.ctx.Done():
	}
}

// Close stops the child and the supervision.
func (c *Child[T]) Close() {
	c.cancel()
	<-c.done
	if c.spareStopped != nil {
		<-c.spareStopped
	}
}

func (c *Child[T]) setState(s State) {
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
}

func (c *Child[T]) run() {
	defer close(c.done)
	defer c.setState(Stopped)
	p := c.spec.Policy
	b := NewCrashHistory(p)
	// failing is set by a crash loop and cleared by a run that lasts
	// StableAfter, a fallback, or an explicit restart; until then every
	// crash waits SlowRetry.
	failing := false
	promote := false
	for {
		end := c.runOnce(promote)
		promote = false
		switch end.kind {
		case endClosed:
			return
		case endRestart:
			b.Reset()
			failing = false
			c.countRestart()
			continue
		}
		if end.ran >= p.StableAfter {
			b.Reset()
			failing = false
		}
		if c.spec.OnCrash != nil && c.spec.OnCrash(c.Snapshot()) {
			b.Reset()
			failing = false
		}
		delay, loop := b.Crash(time.Now(), end.ran)
		state := Backoff
		if loop || failing {
			failing, state, delay = true, Failed, p.SlowRetry
			c.log.Error("child failed: crash loop; trying again at a slow pace until it runs or is restarted",
				"crashes", p.CrashLimit, "window", p.CrashWindow, "next_attempt_in", delay)
		} else if c.spareReady() {
			// The crash still counts toward the crash loop rule; only
			// the wait is gone, as the spare needs no start.
			promote, delay = true, 0
			c.log.Info("promoting the spare")
		} else {
			c.log.Info("restarting child", "in", delay)
		}
		c.mu.Lock()
		c.state, c.nextStart = state, time.Now().Add(delay)
		c.mu.Unlock()
		switch c.wait(delay) {
		case waitClosed:
			return
		case waitRestart:
			b.Reset()
			failing = false
		}
		c.countRestart()
	}
}

func (c *Child[T]) countRestart() {
	c.mu.Lock()
	c.restarts++
	c.mu.Unlock()
}

type waitEnd int

const (
	waitDone waitEnd = iota
	waitRestart
	waitClosed
)

// wait waits delay, or until Restart is called or supervision is closed.
func (c *Child[T]) wait(delay time.Duration) waitEnd {
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return waitClosed
		case <-t.C:
			return waitDone
		case cmd := <-c.cmds:
			if cmd == cmdRestart {
				c.log.Info("restart requested")
				return waitRestart
			}
		}
	}
}

type endKind int

const (
	endCrash endKind = iota
	endRestart
	endClosed
)

type end struct {
	kind endKind
	ran  time.Duration
}

// runOnce starts one child process, or with promote takes over the spare,
// and watches it until it is gone.
func (c *Child[T]) runOnce(promote bool) end {
	var p *proc[T]
	if promote {
		p = c.promote()
	}
	if p == nil {
		var e *end
		if p, e = c.startFresh(); e != nil {
			return *e
		}
	}
	cmd, client, typed, stderr := p.cmd, p.client, p.rpc, p.stderr
	now := time.Now()
	c.mu.Lock()
	c.state, c.since, c.client, c.hasClient = Running, now, typed, true
	c.mu.Unlock()
	c.wantSpare()

	var lastOK atomic.Int64
	lastOK.Store(now.UnixNano())
	pingCtx, stopPing := context.WithCancel(c.ctx)
	defer stopPing()
	go c.ping(pingCtx, c.spec.Ping, typed, &lastOK)

	ended, tick := exitWatch(cmd.Process.Pid)
	defer tick.Stop()
	hang := newHangWatch(&lastOK, c.spec.Policy.HangAfter)
	defer hang.timer.Stop()
	for {
		select {
		case <-ended:
			ended = nil
			tick.Reset(exitPoll)
		case <-c.ctx.Done():
			client.Kill() // graceful: the child may flush what it holds
			c.log.Info("child stopped", "pid", cmd.Process.Pid)
			return end{kind: endClosed}
		case cmd2 := <-c.cmds:
			switch cmd2 {
			case cmdRestart:
				c.log.Info("restart requested", "pid", cmd.Process.Pid)
				p.kill()
				c.exited(cmd, "restarted on request", stderr)
				return end{kind: endRestart}
			case cmdReconfigure:
				if err := c.configure(typed); err != nil {
					// A crash or hang shows up below; a refusal is logged.
					c.log.Warn("reconfigure failed", "err", err)
				}
			}
		case <-tick.C:
			if client.Exited() {
				client.Kill()
				c.exited(cmd, "", stderr)
				return end{kind: endCrash, ran: time.Since(now)}
			}
		case <-hang.timer.C:
			if silent, hung := hang.hung(); hung {
				p.kill()
				c.exited(cmd, fmt.Sprintf("hung: no answer to health pings for %s, killed", silent.Round(time.Millisecond)), stderr)
				return end{kind: endCrash, ran: time.Since(now)}
			}
		}
	}
}

// startFresh starts and configures a new child process; a failure is
// returned as the end of this run.
func (c *Child[T]) startFresh() (*proc[T], *end) {
	c.mu.Lock()
	c.state, c.pid, c.hasClient = Starting, 0, false
	c.stderr = NewTailLines(20, c.spec.Name+" | ", c.spec.Stderr)
	stderr := c.stderr
	c.mu.Unlock()
	started := time.Now()
	p, err := c.launch(stderr)
	if err != nil {
		c.exited(p.cmd, err.Error(), stderr)
		return nil, &end{kind: endCrash}
	}
	c.mu.Lock()
	c.state, c.pid = Configuring, p.cmd.Process.Pid
	c.mu.Unlock()
	if err := c.configure(p.rpc); err != nil {
		p.kill()
		c.exited(p.cmd, "configure: "+err.Error(), stderr)
		return nil, &end{kind: endCrash}
	}
	c.log.Info("child running", "pid", p.cmd.Process.Pid, "revision", c.Snapshot().ConfiguredRevision,
		"startup", time.Since(started).Round(time.Millisecond))
	return p, nil
}

// launch starts a child process and dispenses its client. On an error
// the process is gone and p still names its command.
func (c *Child[T]) launch(stderr *TailLines) (p *proc[T], err error) {
	cmd := c.spec.Command()
	DieWithParent(cmd)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  c.spec.Handshake,
		Plugins:          c.spec.Plugins,
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     c.spec.Policy.StartTimeout,
		Stderr:           stderr,
		GRPCDialOptions:  c.spec.DialOptions,
		Logger:           hclog.NewNullLogger(),
	})
	p = &proc[T]{cmd: cmd, client: client, stderr: stderr, taken: make(chan struct{})}
	defer func() {
		if err != nil {
			p.kill()
		}
	}()
	rpc, err := client.Client()
	if err != nil {
		return p, fmt.Errorf("start: %w", err)
	}
	raw, err := rpc.Dispense(c.spec.Dispense)
	if err != nil {
		return p, fmt.Errorf("dispense: %w", err)
	}
	typed, ok := raw.(T)
	if !ok {
		return p, fmt.Errorf("dispense: unexpected client type %T", raw)
	}
	p.rpc = typed
	return p, nil
}

func (c *Child[T]) configure(t T) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.spec.Policy.HangAfter)
	defer cancel()
	rev, err := c.spec.Configure(ctx, t)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.revision = rev
	c.mu.Unlock()
	return nil
}

// ping health-checks the child until ctx ends, recording the last answer.
func (c *Child[T]) ping(ctx context.Context, ping func(context.Context, T) error, t T, lastOK *atomic.Int64) {
	tick := time.NewTicker(c.spec.Policy.PingEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pctx, cancel := context.WithTimeout(ctx, c.spec.Policy.HangAfter)
		err := ping(pctx, t)
		cancel()
		if err == nil {
			lastOK.Store(time.Now().UnixNano())
		}
	}
}

// exited records why the child is gone and logs it with its last words.
func (c *Child[T]) exited(cmd *exec.Cmd, why string, stderr *TailLines) {
	status := ExitStatus(cmd)
	reason := status
	if why != "" {
		reason = why + " (" + status + ")"
	}
	c.mu.Lock()
	c.lastExit, c.hasClient = reason, false
	var zero T
	c.client = zero
	c.mu.Unlock()
	c.log.Warn("child exited", "reason", reason, "last_stderr", strings.Join(stderr.Last(), "\n"))
}

// ExitStatus is how cmd's process ended ("exit status 2", "signal: killed"),
// or "not started".
func ExitStatus(cmd *exec.Cmd) string {
	if cmd.ProcessState == nil {
		return "not started"
	}
	return cmd.ProcessState.String()
}

// Kill sends SIGKILL at once: go-plugin's own Kill first asks politely and
// waits 2 s, which a hung child (or plugin) would spend entirely.
func Kill(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill() // an error means it is gone already
	}
}
