package worker

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// Lower sets every thread of this process to nice n, in the idle
// scheduling class. Linux keeps both per thread, and a new thread takes its
// creator's, so this is done first thing in main, before the work starts
// its threads. Nice alone is not enough: the scheduler weighs each thread,
// and a transcode's decoder and x264 threads at nice 10 together weigh as
// much as the live encode's one thread at nice 0. In the idle class they
// run only on CPU time that nothing else of the studio wants.
func Lower(n int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return syscall.Setpriority(syscall.PRIO_PROCESS, 0, n)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil {
			return err
		}
		if err := idle(tid); err != nil {
			return err
		}
	}
	return nil
}

// schedIdle is SCHED_IDLE from <sched.h>.
const schedIdle = 5

func idle(tid int) error {
	var param struct{ priority int32 }
	_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), schedIdle, uintptr(unsafe.Pointer(&param)))
	if errno != 0 {
		return fmt.Errorf("idle scheduling class: %w", errno)
	}
	return nil
}
