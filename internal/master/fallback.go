package master

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/onair-studio/onair/internal/state"
)

// Hardware encoders crash with their drivers. After this many crashes within
// the window while on one hardware backend, the encoder moves to the next
// one, down to libx264, as a browser falls back from its GPU process.
const (
	fallbackCrashes = 3
	fallbackWindow  = time.Minute
	softwareBackend = "libx264"
)

type fallback struct {
	mu      sync.Mutex
	crashes map[string][]time.Time
	reason  string
}

// crashed records an encoder crash while on backend. It returns the reason
// when the backend is to be excluded from now on.
func (f *fallback) crashed(backend string, now time.Time) (string, bool) {
	if backend == "" || backend == softwareBackend {
		return "", false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.crashes == nil {
		f.crashes = map[string][]time.Time{}
	}
	recent := slices.DeleteFunc(f.crashes[backend], func(t time.Time) bool { return now.Sub(t) > fallbackWindow })
	recent = append(recent, now)
	f.crashes[backend] = recent
	if len(recent) < fallbackCrashes {
		return "", false
	}
	delete(f.crashes, backend)
	f.reason = fmt.Sprintf("%s crashed %d times within %s; falling back to the next backend", backend, len(recent), fallbackWindow)
	return f.reason, true
}

// crashedOpening records that backend's driver took the encoder down (a
// crash, or a hang that got it killed) while it was being opened, and
// returns the reason it is excluded.
func (f *fallback) crashedOpening(backend string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reason = fmt.Sprintf("%s took the encoder down while opening (a driver crash or hang); falling back to the next backend", backend)
	return f.reason
}

func (f *fallback) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reason
}

func exclude(backend string) func(*state.Desired) {
	return func(d *state.Desired) {
		if !slices.Contains(d.ExcludeBackends, backend) {
			d.ExcludeBackends = append(slices.Clone(d.ExcludeBackends), backend)
		}
	}
}
