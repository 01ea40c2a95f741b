package supervise

import "time"

// Policy is how a child is watched and restarted.
type Policy struct {
	// FirstBackoff is the wait before the first restart; each crash doubles it
	// up to MaxBackoff.
	FirstBackoff time.Duration
	MaxBackoff   time.Duration
	// StableAfter is how long a child must run before a crash counts as a
	// fresh start again (backoff back to FirstBackoff).
	StableAfter time.Duration
	// CrashLimit crashes within CrashWindow put the child in the failed state.
	CrashLimit  int
	CrashWindow time.Duration
	// SlowRetry is how often a failed child is still tried, until one run
	// lasts StableAfter or Restart is called: an unattended broadcast comes
	// back by itself once the cause goes away.
	SlowRetry time.Duration
	// PingEvery is how often the child is health-pinged; a child that has not
	// answered for HangAfter is killed and restarted.
	PingEvery time.Duration
	HangAfter time.Duration
	// StartTimeout bounds a child's start-up handshake.
	StartTimeout time.Duration
}

// DefaultPolicy is what the master uses.
func DefaultPolicy() Policy {
	return Policy{
		FirstBackoff: 100 * time.Millisecond,
		MaxBackoff:   5 * time.Second,
		// A child that ran this long was not crash-looping: its next crash
		// waits FirstBackoff again, so an encoder that dies now and then
		// costs a fraction of a second each time, not a growing freeze.
		// Crashes closer together still back off and hit CrashLimit.
		StableAfter: 10 * time.Second,
		CrashLimit:  5,
		CrashWindow: time.Minute,
		SlowRetry:   30 * time.Second,
		// Four pings to a HangAfter: a loaded machine's slow answer is not
		// taken for a hang. Each ping is a TLS round trip both processes
		// pay for while live, so not more often.
		PingEvery:    500 * time.Millisecond,
		HangAfter:    2 * time.Second,
		StartTimeout: 10 * time.Second,
	}
}

// CrashHistory tracks the restart delay and the recent crashes of one process.
// The pluginhost applies it to plugins too, so both follow the same rules.
type CrashHistory struct {
	p       Policy
	next    time.Duration
	crashes []time.Time
}

// NewCrashHistory starts with no crashes.
func NewCrashHistory(p Policy) *CrashHistory { return &CrashHistory{p: p, next: p.FirstBackoff} }

// Crash records a crash at now of a process that had been running for ran.
// It returns the delay before the next start, or failed when the crash loop
// limit is reached.
func (b *CrashHistory) Crash(now time.Time, ran time.Duration) (delay time.Duration, failed bool) {
	if ran >= b.p.StableAfter {
		b.next = b.p.FirstBackoff
	}
	kept := b.crashes[:0]
	for _, t := range b.crashes {
		if now.Sub(t) < b.p.CrashWindow {
			kept = append(kept, t)
		}
	}
	b.crashes = append(kept, now)
	if len(b.crashes) >= b.p.CrashLimit {
		return 0, true
	}
	delay = b.next
	b.next = min(b.next*2, b.p.MaxBackoff)
	return delay, false
}

// Reset forgets the crash history, as after an explicit restart.
func (b *CrashHistory) Reset() {
	b.next = b.p.FirstBackoff
	b.crashes = nil
}
