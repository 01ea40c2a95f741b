package stats

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ProcTicks reads user and system CPU time of processes on this machine
// from /proc, in clock ticks. It fails when none can be read (the master is
// on another machine).
func ProcTicks(pids []int) (uint64, bool) {
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
