// Package fault is fault injection for tests: it makes a child hang or crash
// on command, so the supervision that must survive those faults can be tested
// with real processes. It is off unless ONAIR_TEST_FAULTS=1.
package fault

import (
	"fmt"
	"os"
	"sync"
)

// EnvVar switches fault injection on for a master and the children it starts.
const EnvVar = "ONAIR_TEST_FAULTS"

// Enabled reports whether this process may honour injected faults.
func Enabled() bool { return os.Getenv(EnvVar) == "1" }

// Inject makes the calling service misbehave. "hang" takes the service's lock
// and never gives it back, so every later call blocks as in a deadlock;
// "crash" exits the process at once.
func Inject(kind string, serviceLock *sync.Mutex) error {
	if !Enabled() {
		return fmt.Errorf("fault injection is off (set %s=1)", EnvVar)
	}
	switch kind {
	case "hang":
		go serviceLock.Lock()
		return nil
	case "crash":
		fmt.Fprintln(os.Stderr, "fatal: injected crash")
		os.Exit(3)
	}
	return fmt.Errorf("unknown fault %q (want hang or crash)", kind)
}
