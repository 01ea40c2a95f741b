package gosched

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Sleeper waits for a duration with one wake-up, on time: the mixer sleeps
// through it between sound batches.
//
// Go's own timers wake such a loop twice, and late: the runtime waits for
// its next timer in whole milliseconds, rounded down, so it wakes a fraction
// of a millisecond early, finds nothing due, and waits one more whole
// millisecond. A Sleeper's timer is the kernel's (a timerfd, to the
// nanosecond), and the runtime waits for it as for any file: one wake-up,
// at the time asked for.
//
// The price: in a busy process the runtime runs a poller's wake-up only
// after the goroutines already ready, where a due timer goes first. A loop
// whose lateness costs output (the compositor's frame clock) keeps Go's
// timers (TimerSleep).
//
// A Sleeper is used by one goroutine at a time.
type Sleeper struct {
	fd    int      // the timerfd; the file below owns it
	timer *os.File // nil: no timerfd here, Go's timers instead
}

// NewSleeper makes a Sleeper; Close frees it.
func NewSleeper() *Sleeper {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return &Sleeper{}
	}
	// A non-blocking descriptor: the file's reads wait in Go's poller.
	return &Sleeper{fd: fd, timer: os.NewFile(uintptr(fd), "timerfd")}
}

// Sleep waits for d, or returns false when ctx ends first.
func (s *Sleeper) Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	if s.timer == nil {
		return TimerSleep(ctx, d)
	}
	// Setting the timer also clears an expiry an ended sleep left unread.
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(s.fd, 0, &spec, nil); err != nil {
		return TimerSleep(ctx, d)
	}
	stop := context.AfterFunc(ctx, func() { _ = s.timer.SetReadDeadline(time.Unix(1, 0)) })
	var expiries [8]byte
	_, err := s.timer.Read(expiries[:])
	if !stop() {
		// ctx ended: the read was cut short, or is about to be.
		_ = s.timer.SetReadDeadline(time.Time{})
		return false
	}
	return err == nil || TimerSleep(ctx, d) // a failed read: sleep the old way
}

// Close frees the timer.
func (s *Sleeper) Close() {
	if s.timer != nil {
		s.timer.Close()
	}
}

// TimerSleep waits for d on Go's timers, or returns false when ctx ends
// first: a Sleeper's fallback, and the sleep of a loop that must not wait
// behind other goroutines when its time comes (see Sleeper).
func TimerSleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
