// Package procstat reads how much CPU processes on this machine have used,
// from /proc.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Ticks is the user and system CPU time the processes have used so far, in
// clock ticks (1/100 s). It fails when none of them can be read.
func Ticks(pids []int) (uint64, bool) {
	var total uint64
	read := 0
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields follow the parenthesised command name, which may hold spaces.
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 13 {
			continue
		}
		// utime and stime are fields 14 and 15; f[0] is field 3.
		u, err1 := strconv.ParseUint(f[11], 10, 64)
		st, err2 := strconv.ParseUint(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		total += u + st
		read++
	}
	return total, read > 0
}

// ResidentBytes is a process's resident memory, 0 when it cannot be read.
func ResidentBytes(pid int) uint64 {
	if pid <= 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}
