// Package gosched holds how OnAir's streaming processes are scheduled: they
// spend their time handing small pieces of work between goroutines and C
// threads 50 to 100 times a second, and work besides the stream must not
// take the cores the stream needs.
//
// Apply keeps Go's system monitor from waking such a process thousands of
// times a second.
//
// The monitor (sysmon) sleeps deeply while every processor is idle, and the
// next system call wakes it into about fifty polls 20 µs apart before it
// backs off again. A streaming process is idle between events and makes a
// system call at each one (a picture, a sound block, a health check: 50 to
// 100 a second), so its monitor woke 2,000 to 3,000 times a second, more
// often than everything else in the process together. With the runtime's
// schedtrace setting the monitor never sleeps deeply and polls at most every
// 10 ms instead (see sysmon in the runtime's proc.go). The setting's period
// is the longest there is, so the scheduler summary it exists for is printed
// once every 2^31 ms (24.8 days) of machine uptime, and never on a machine
// up for less.
package gosched

import (
	"os"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Setting is the GODEBUG entry that keeps the monitor out of deep sleep.
const Setting = "schedtrace=2147483647"

// Apply makes sure this process runs with Setting, and with it every child
// it starts, which inherits the environment. The runtime reads GODEBUG only
// at start, so without it the process re-executes itself with the setting
// added, keeping its pid, arguments and open files. A GODEBUG that already
// sets schedtrace is left as the user chose; if re-executing fails, the
// process goes on as it is.
func Apply() {
	next, ok := withSetting(os.Getenv("GODEBUG"))
	if !ok {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	if err := os.Setenv("GODEBUG", next); err != nil {
		return
	}
	_ = syscall.Exec(exe, os.Args, os.Environ())
	// Still here: the exec failed. The children still get the setting.
}

// withSetting is GODEBUG with Setting added, and whether that changes it.
func withSetting(cur string) (string, bool) {
	for _, kv := range strings.Split(cur, ",") {
		if strings.HasPrefix(strings.TrimSpace(kv), "schedtrace=") {
			return cur, false
		}
	}
	if cur == "" {
		return Setting, true
	}
	return cur + "," + Setting, true
}

// OneProcessor runs the process's goroutines on one processor, unless the
// user set GOMAXPROCS. It is for processes whose heavy work runs outside Go's
// processors: the master only relays, and the encoder's libx264 runs on
// threads of its own. With a second processor idle, every hand-over between
// goroutines woke a second thread to look for work (measured: a third fewer
// context switches per frame in the encoder, half in the master).
func OneProcessor() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// backgroundNice is the lowest CPU priority there is.
const backgroundNice = 19

// Background runs fn on an OS thread of its own at the lowest CPU priority,
// for work that must not slow the stream beside it: the threads fn's C code
// starts (libx264's) are created at that priority too. Such work still runs
// on a busy machine, only after what runs at normal priority. The thread
// ends with fn (the main thread is parked for good instead), so no other
// goroutine ever runs on it.
func Background(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Never unlocked: the goroutine's exit ends the thread, and its
		// priority with it.
		runtime.LockOSThread()
		// An error leaves the priority as it was: the work is still done.
		_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), backgroundNice)
		fn()
	}()
	<-done
}
