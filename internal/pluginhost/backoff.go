package pluginhost

import "time"

// backoff tracks a plugin's restart delay and its recent crashes, with the
// same rules the master applies to its children (internal/supervise).
type backoff struct {
	o       Options
	next    time.Duration
	crashes []time.Time
}

func newBackoff(o Options) *backoff { return &backoff{o: o, next: o.FirstBackoff} }

// crash records a crash at now of a process that had run for ran. It returns
// the delay before the next start, or failed when the crash-loop limit is
// reached.
func (b *backoff) crash(now time.Time, ran time.Duration) (delay time.Duration, failed bool) {
	if ran >= b.o.StableAfter {
		b.next = b.o.FirstBackoff
	}
	kept := b.crashes[:0]
	for _, t := range b.crashes {
		if now.Sub(t) < b.o.CrashWindow {
			kept = append(kept, t)
		}
	}
	b.crashes = append(kept, now)
	if len(b.crashes) >= b.o.CrashLimit {
		return 0, true
	}
	delay = b.next
	b.next = min(b.next*2, b.o.MaxBackoff)
	return delay, false
}

// reset forgets the crash history, as after a retry the user asked for.
func (b *backoff) reset() {
	b.next = b.o.FirstBackoff
	b.crashes = nil
}
