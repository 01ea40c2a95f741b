package supervise

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// exitOf returns a channel closed as soon as process pid ends, before it is
// reaped (go-plugin reaps it and then raises its exit flag), so a watcher
// sleeps until then instead of polling the flag. It returns nil where the
// system cannot tell (no pidfd): the watcher's slow poll still sees the
// exit.
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
		waited := false
		// A pidfd reads as ready once its process has ended.
		err := rc.Read(func(uintptr) bool {
			ready := waited
			waited = true
			return ready
		})
		if err == nil {
			close(done)
		}
	}()
	return done
}

// exitWatch is how a watcher learns that pid ended: exitOf's channel, and a
// ticker at the hang check's rate, or at the exit poll's where there is no
// pidfd (the exit flag is then all there is to go by).
func exitWatch(pid int) (<-chan struct{}, *time.Ticker) {
	ended := exitOf(pid)
	tick := time.NewTicker(watchPoll)
	if ended == nil {
		tick.Reset(exitPoll)
	}
	return ended, tick
}
