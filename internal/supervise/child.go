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
)

// exitPoll is how often the watcher looks at the child's exit flag: go-plugin
// offers no exit channel, and 10 ms keeps crash detection well under 50 ms.
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

// Reconfigure re-applies the desired state to the running child.
func (c *Child[T]) Reconfigure() { c.send(cmdReconfigure) }

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
	for {
		end := c.runOnce()
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

// runOnce starts one child process and watches it until it is gone.
func (c *Child[T]) runOnce() end {
	p := c.spec.Policy
	c.mu.Lock()
	c.state, c.pid, c.hasClient = Starting, 0, false
	c.stderr = NewTailLines(20, c.spec.Name+" | ", c.spec.Stderr)
	stderr := c.stderr
	c.mu.Unlock()

	cmd := c.spec.Command()
	DieWithParent(cmd)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  c.spec.Handshake,
		Plugins:          c.spec.Plugins,
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     p.StartTimeout,
		Stderr:           stderr,
		GRPCDialOptions:  c.spec.DialOptions,
		Logger:           hclog.NewNullLogger(),
	})
	started := time.Now()
	fail := func(what string, err error) end {
		Kill(cmd)
		client.Kill()
		c.exited(cmd, what+": "+err.Error(), stderr)
		return end{kind: endCrash}
	}

	rpc, err := client.Client()
	if err != nil {
		return fail("start", err)
	}
	raw, err := rpc.Dispense(c.spec.Dispense)
	if err != nil {
		return fail("dispense", err)
	}
	typed, ok := raw.(T)
	if !ok {
		return fail("dispense", fmt.Errorf("unexpected client type %T", raw))
	}
	c.mu.Lock()
	c.state, c.pid = Configuring, cmd.Process.Pid
	c.mu.Unlock()
	if err := c.configure(typed); err != nil {
		return fail("configure", err)
	}
	now := time.Now()
	c.mu.Lock()
	c.state, c.since, c.client, c.hasClient = Running, now, typed, true
	c.mu.Unlock()
	c.log.Info("child running", "pid", cmd.Process.Pid, "revision", c.Snapshot().ConfiguredRevision,
		"startup", now.Sub(started).Round(time.Millisecond))

	var lastOK atomic.Int64
	lastOK.Store(now.UnixNano())
	pingCtx, stopPing := context.WithCancel(c.ctx)
	defer stopPing()
	go c.ping(pingCtx, typed, &lastOK)

	tick := time.NewTicker(exitPoll)
	defer tick.Stop()
	for {
		select {
		case <-c.ctx.Done():
			client.Kill() // graceful: the child may flush what it holds
			c.log.Info("child stopped", "pid", cmd.Process.Pid)
			return end{kind: endClosed}
		case cmd2 := <-c.cmds:
			switch cmd2 {
			case cmdRestart:
				c.log.Info("restart requested", "pid", cmd.Process.Pid)
				Kill(cmd)
				client.Kill()
				c.exited(cmd, "restarted on request", stderr)
				return end{kind: endRestart}
			case cmdReconfigure:
				if err := c.configure(typed); err != nil {
					// A crash or hang shows up below; a refusal is logged.
					c.log.Warn("reconfigure failed", "err", err)
				}
			}
		case <-tick.C:
			ran := time.Since(now)
			if client.Exited() {
				client.Kill()
				c.exited(cmd, "", stderr)
				return end{kind: endCrash, ran: ran}
			}
			if silent := time.Since(time.Unix(0, lastOK.Load())); silent > p.HangAfter {
				Kill(cmd)
				client.Kill()
				c.exited(cmd, fmt.Sprintf("hung: no answer to health pings for %s, killed", silent.Round(time.Millisecond)), stderr)
				return end{kind: endCrash, ran: ran}
			}
		}
	}
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
func (c *Child[T]) ping(ctx context.Context, t T, lastOK *atomic.Int64) {
	tick := time.NewTicker(c.spec.Policy.PingEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pctx, cancel := context.WithTimeout(ctx, c.spec.Policy.HangAfter)
		err := c.spec.Ping(pctx, t)
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
