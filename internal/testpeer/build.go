package testpeer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// GoBuild builds one package of this module (e.g. "./cmd/master") without
// the race detector, so that what a test measures of it (memory, speed) is
// what users get, and returns the binary's path.
func GoBuild(t testing.TB, pkg string) string {
	t.Helper()
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(mod)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// StartProgram runs path with args and env added to the test's
// environment; lines, if set, receives stderr line by line. The process is
// killed when the test ends.
func StartProgram(t testing.TB, lines func(string), env []string, path string, args ...string) *Proc {
	t.Helper()
	return startCmd(t, func(c *exec.Cmd) { c.Env = append(os.Environ(), env...) }, lines, path, args...)
}

// RSS is a process's resident memory now, from /proc (Linux).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for process %d", pid)
}
