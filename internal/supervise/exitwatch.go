package supervise

import (
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// exitOf returns a channel closed as soon as process pid ends, before it is
// reaped (go-plugin reaps it and then raises its exit flag), so a watcher
// sleeps until then instead of polling the flag. It returns nil where the
// system cannot tell (no pidfd): the watcher then polls the flag all along.
func exitOf(pid int) <-chan struct{} {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer f.Close()
		// A pidfd reads as ready once its process has ended. Asked, not
		// assumed on the first call: Read forgets any readiness seen before
		// it began, so an end that came before then would never wake it.
		err := rc.Read(func(fd uintptr) bool { return pidfdReady(int(fd)) })
		if err == nil {
			close(done)
		}
	}()
	return done
}

// pidfdReady reports whether pidfd reads as ready: its process has ended. An
// answer it cannot get counts as ended, so that the watcher falls back to
// polling the exit flag rather than sleeping for good.
func pidfdReady(pidfd int) bool {
	p := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(p, 0)
		if err != unix.EINTR {
			return err != nil || n > 0
		}
	}
}

// exitWatch is how a watcher learns that pid ended: exitOf's channel, and a
// ticker that polls the exit flag, running from the start where there is no
// pidfd (the flag is then all there is to go by) and stopped until the
// watcher restarts it otherwise.
func exitWatch(pid int) (<-chan struct{}, *time.Ticker) {
	ended := exitOf(pid)
	tick := time.NewTicker(exitPoll)
	if ended != nil {
		tick.Stop()
	}
	return ended, tick
}

// hangWatch fires when a child whose last answer came at lastOK may have
// been silent for hangAfter; hung then says whether it was, or re-arms the
// timer for the new last answer. A watcher so wakes about once per timeout
// while the child answers, not on every poll.
type hangWatch struct {
	timer     *time.Timer
	lastOK    *atomic.Int64 // Unix nanoseconds
	hangAfter time.Duration
}

func newHangWatch(lastOK *atomic.Int64, hangAfter time.Duration) hangWatch {
	return hangWatch{time.NewTimer(hangAfter), lastOK, hangAfter}
}

// hung reports how long the child has been silent if that is over the
// timeout; otherwise it re-arms the timer.
func (h hangWatch) hung() (time.Duration, bool) {
	silent := time.Since(time.Unix(0, h.lastOK.Load()))
	if silent > h.hangAfter {
		return silent, true
	}
	// Just past the deadline, so that a child still silent then is over it.
	h.timer.Reset(h.hangAfter - silent + time.Millisecond)
	return 0, false
}
