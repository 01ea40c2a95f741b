package supervise

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// spareDelay is how long after a child starts running its spare starts.
const spareDelay = 300 * time.Millisecond

// SpareSnapshot is the spare's state, false when the child keeps none.
func (c *Child[T]) SpareSnapshot() (Snapshot, bool) {
	if c.spec.Spare == nil {
		return Snapshot{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.spareSnap
	if s.State == Standby {
		s.Uptime = time.Since(c.spareSince)
	}
	return s, true
}

// RestartSpare kills the spare, which is then replaced as any dead spare
// is; false when the child keeps no spare.
func (c *Child[T]) RestartSpare() bool {
	if c.spec.Spare == nil {
		return false
	}
	c.mu.Lock()
	p := c.spare
	c.mu.Unlock()
	if p != nil {
		Kill(p.cmd)
	}
	return true
}

func (c *Child[T]) spareReady() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.spare != nil
}

// wantSpare asks for a spare beside the child now running.
func (c *Child[T]) wantSpare() {
	if c.spareWanted == nil {
		return
	}
	select {
	case c.spareWanted <- struct{}{}:
	default:
	}
}

func (c *Child[T]) setSpare(f func(s *Snapshot)) {
	c.mu.Lock()
	f(&c.spareSnap)
	c.mu.Unlock()
}

// promote takes the ready spare and makes it the running child, or
// returns nil when there is none or it failed (then it is gone, and a
// fresh child starts as usual).
func (c *Child[T]) promote() *proc[T] {
	c.mu.Lock()
	p := c.spare
	if p != nil {
		c.spare = nil
		close(p.taken)
		c.spareSnap.State, c.spareSnap.PID, c.spareSnap.Uptime = Starting, 0, 0
		c.state, c.pid, c.hasClient, c.stderr = Configuring, p.cmd.Process.Pid, false, p.stderr
	}
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	p.stderr.SetPrefix(c.spec.Name + " | ")
	started := time.Now()
	ctx, cancel := context.WithTimeout(c.ctx, c.spec.Policy.HangAfter)
	defer cancel()
	rev, err := c.spec.Spare.Promote(ctx, p.rpc)
	if err == nil && p.client.Exited() {
		err = fmt.Errorf("it exited")
	}
	if err != nil {
		p.kill()
		c.log.Warn("spare could not be promoted; starting a new child", "pid", p.cmd.Process.Pid, "err", err)
		return nil
	}
	c.mu.Lock()
	c.revision = rev
	c.mu.Unlock()
	c.log.Info("spare promoted", "pid", p.cmd.Process.Pid, "revision", rev,
		"promotion", time.Since(started).Round(time.Millisecond))
	return p
}

// keepSpare keeps one spare ready while supervision runs: it starts one
// when asked, and replaces one that dies. A spare's death is not a crash:
// it only paces the next spare.
func (c *Child[T]) keepSpare() {
	defer close(c.spareStopped)
	defer c.setSpare(func(s *Snapshot) { s.State, s.PID = Stopped, 0 })
	deaths := NewCrashHistory(c.spec.Policy)
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.spareWanted:
		}
		// The new running child's first frames go first: on two cores a
		// spare starting beside them would lengthen the very freeze it
		// exists to shorten.
		t := time.NewTimer(spareDelay)
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		for {
			started := time.Now()
			if c.runSpare() {
				break // promoted
			}
			if c.ctx.Err() != nil {
				return
			}
			delay, _ := deaths.Crash(time.Now(), time.Since(started))
			c.setSpare(func(s *Snapshot) {
				s.State, s.PID, s.NextStart = Backoff, 0, delay
				s.Restarts++
			})
			t := time.NewTimer(delay)
			select {
			case <-c.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			c.setSpare(func(s *Snapshot) { s.NextStart = 0 })
		}
	}
}

// runSpare starts a spare, configures it and watches it until it is
// promoted (true) or dies, hangs or supervision ends (false).
func (c *Child[T]) runSpare() (promoted bool) {
	name := c.spec.Spare.Name
	stderr := NewTailLines(20, name+" | ", c.spec.Stderr)
	c.setSpare(func(s *Snapshot) { s.State, s.PID, s.LastStderr = Starting, 0, nil })
	gone := func(p *proc[T], why string) bool {
		p.kill()
		reason := ExitStatus(p.cmd)
		if why != "" {
			reason = why + " (" + reason + ")"
		}
		c.setSpare(func(s *Snapshot) { s.LastExit, s.PID, s.LastStderr = reason, 0, stderr.Last() })
		if c.ctx.Err() == nil {
			c.log.Warn("spare exited; replacing it", "child", name, "reason", reason)
		}
		return false
	}
	p, err := c.launch(stderr)
	if err != nil {
		return gone(p, err.Error())
	}
	pid := p.cmd.Process.Pid
	c.setSpare(func(s *Snapshot) { s.State, s.PID = Configuring, pid })
	configure := func() error {
		ctx, cancel := context.WithTimeout(c.ctx, c.spec.Policy.HangAfter)
		defer cancel()
		rev, err := c.spec.Spare.Configure(ctx, p.rpc)
		if err == nil {
			c.setSpare(func(s *Snapshot) { s.ConfiguredRevision = rev })
		}
		return err
	}
	if err := configure(); err != nil {
		return gone(p, "configure: "+err.Error())
	}
	c.mu.Lock()
	c.spare, c.spareSince = p, time.Now()
	c.spareSnap.State = Standby
	c.mu.Unlock()
	c.log.Info("spare ready", "child", name, "pid", pid)

	var lastOK atomic.Int64
	lastOK.Store(time.Now().UnixNano())
	pingCtx, stopPing := context.WithCancel(c.ctx)
	defer stopPing()
	go c.ping(pingCtx, c.spec.Spare.Ping, p.rpc, &lastOK)
	// release drops the spare unless it was promoted meanwhile; then the
	// promoted child is no longer this watcher's.
	release := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.spare != p {
			return false
		}
		c.spare = nil
		return true
	}
	ended, tick := exitWatch(p.cmd.Process.Pid)
	defer tick.Stop()
	hang := newHangWatch(&lastOK, c.spec.Policy.HangAfter)
	defer hang.timer.Stop()
	for {
		select {
		case <-ended:
			ended = nil
			tick.Reset(exitPoll)
		case <-c.ctx.Done():
			if release() {
				p.kill()
			}
			return false
		case <-p.taken:
			return true
		case <-c.spareConfig:
			if err := configure(); err != nil {
				c.log.Warn("spare reconfigure failed", "child", name, "err", err)
			}
		case <-tick.C:
			if !p.client.Exited() {
				continue
			}
			if !release() {
				return true // promoted just now; the new owner finds out
			}
			return gone(p, "") // its exit status says why
		case <-hang.timer.C:
			silent, hung := hang.hung()
			if !hung {
				continue
			}
			if !release() {
				return true
			}
			return gone(p, fmt.Sprintf("hung: no answer to health pings for %s, killed", silent.Round(time.Millisecond)))
		}
	}
}
