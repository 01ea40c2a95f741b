package output

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

// stateLog records a destination's state changes with their times.
type stateLog struct {
	mu      sync.Mutex
	changes []stateChange
}

type stateChange struct {
	s  DestinationState
	at time.Time
}

func (l *stateLog) hear(s DestinationState, _ error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, stateChange{s, time.Now()})
}

// waits are the times from each retrying to the next connecting, from the
// n-th change on.
func (l *stateLog) waits(from int) []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Duration
	for i := max(from, 1); i < len(l.changes); i++ {
		if l.changes[i].s == DestConnecting && l.changes[i-1].s == DestRetrying {
			out = append(out, l.changes[i].at.Sub(l.changes[i-1].at))
		}
	}
	return out
}

func (l *stateLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.changes)
}

// The retry schedule doubles from FirstRetry up to MaxRetry, jittered by
// ±25%, and starts over after a session that stayed live for MaxRetry.
func TestBackoffSchedule(t *testing.T) {
	const first, most = 200 * time.Millisecond, 800 * time.Millisecond
	b := backoff{first: first, most: most}
	for i, w := range []time.Duration{first, 2 * first, most, most, most} {
		if got := b.next(0, 0.5); got != w {
			t.Errorf("retry %d: %v, want %v", i+1, got, w)
		}
	}
	if got := b.next(most-time.Millisecond, 0.5); got != most {
		t.Errorf("after a short live session: %v, want %v", got, most)
	}
	if got := b.next(most, 0.5); got != first {
		t.Errorf("after a session live for MaxRetry: %v, want %v (the backoff starts over)", got, first)
	}
	b = backoff{first: first, most: most}
	if lo, hi := b.next(0, 0), b.next(0, 0.999999); lo != first*3/4 || hi < 2*first*5/4-time.Millisecond || hi > 2*first*5/4 {
		t.Errorf("jitter bounds %v and %v, want %v and %v", lo, hi, first*3/4, 2*first*5/4)
	}
}

// A destination whose server is down keeps retrying on its schedule (never
// sooner than the jittered backoff allows) and goes live when it is back.
func TestDestinationBackoff(t *testing.T) {
	ngx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	ngx.Stop()
	const first, most = 200 * time.Millisecond, 800 * time.Millisecond
	log := &stateLog{}
	d := StartDestination(DestinationConfig{URL: ngx.URL("live", secretKey), FirstRetry: first, MaxRetry: most,
		OnState: log.hear, Log: testpeer.Logger(t)})
	defer d.Close()

	testpeer.Await(t, 10*time.Second, "five retries", func() bool { return len(log.waits(0)) >= 5 })
	// A timer never fires early; how late it fires depends on the machine,
	// so only the lower bound is checked here (the schedule itself is
	// TestBackoffSchedule's).
	want := []time.Duration{first, 2 * first, most, most, most}
	for i, w := range log.waits(0)[:5] {
		if w < want[i]*3/4 {
			t.Errorf("retry %d waited %v, want at least %v", i+1, w.Round(time.Millisecond), want[i]*3/4)
		}
	}
	if st := d.Status(); st.Err == nil || st.Attempts < 6 {
		t.Errorf("status while down: %+v, want the error and every attempt counted", st)
	}

	ngx.Restart(t)
	testpeer.Await(t, 10*time.Second, "live once the server is back", func() bool { return d.Status().State == DestLive })
}

// ReconnectNow skips a long wait; Close stops a retrying destination at
// once and leaves no goroutine; a destination that cannot work as written
// fails without retrying.
func TestDestinationReconnectAndClose(t *testing.T) {
	baseline := runtime.NumGoroutine()
	ngx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	ngx.Stop()
	log := &stateLog{}
	d := StartDestination(DestinationConfig{URL: ngx.URL("live", secretKey), FirstRetry: time.Hour, MaxRetry: time.Hour,
		OnState: log.hear, Log: testpeer.Logger(t)})
	defer d.Close() // if the test stops early; closing twice is harmless
	testpeer.Await(t, 10*time.Second, "retrying", func() bool { return d.Status().State == DestRetrying })
	if next := d.Status().NextAttempt; time.Until(next) < 30*time.Minute {
		t.Fatalf("next attempt at %v, want about an hour from now", next)
	}
	ngx.Restart(t)
	d.ReconnectNow()
	testpeer.Await(t, 10*time.Second, "live at once after ReconnectNow", func() bool { return d.Status().State == DestLive })
	ngx.Stop()
	testpeer.Await(t, 10*time.Second, "retrying again", func() bool { return d.Status().State == DestRetrying })

	closed := make(chan struct{})
	go func() { d.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked on a destination waiting an hour to retry")
	}
	if st := d.Status().State; st != DestStopped {
		t.Errorf("state after Close %q, want stopped", st)
	}

	bad := StartDestination(DestinationConfig{URL: "http://example.com/live/" + secretKey, FirstRetry: time.Millisecond})
	testpeer.Await(t, 5*time.Second, "failed", func() bool { return bad.Status().State == DestFailed })
	if st := bad.Status(); st.Attempts != 1 || st.Err == nil {
		t.Errorf("a destination that cannot work: %+v, want one attempt and its error", st)
	}
	bad.Close()
	testpeer.Await(t, 5*time.Second, "destination goroutines to end", func() bool { return runtime.NumGoroutine() <= baseline })
}
