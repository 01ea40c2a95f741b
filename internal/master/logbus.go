package master

import (
	"bytes"
	"sync"
)

// LogBus is an io.Writer for the master's log (children's lines included)
// that hands each line to Control API watchers, keeping the last lines for
// a watcher that joins later. A watcher that falls behind loses lines, never
// slowing the log.
type LogBus struct {
	mu      sync.Mutex
	partial []byte
	recent  []string
	subs    map[chan string]struct{}
}

const logBusKeep = 100

// NewLogBus returns an empty bus.
func NewLogBus() *LogBus { return &LogBus{subs: map[chan string]struct{}{}} }

func (b *LogBus) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(b.partial[:i])
		b.partial = b.partial[i+1:]
		b.recent = append(b.recent, line)
		if len(b.recent) > logBusKeep {
			b.recent = b.recent[len(b.recent)-logBusKeep:]
		}
		for c := range b.subs {
			select {
			case c <- line:
			default:
			}
		}
	}
}

// subscribe returns the recent lines and a channel of new ones.
func (b *LogBus) subscribe() ([]string, chan string, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := make(chan string, 256)
	b.subs[c] = struct{}{}
	recent := append([]string(nil), b.recent...)
	return recent, c, func() {
		b.mu.Lock()
		delete(b.subs, c)
		b.mu.Unlock()
	}
}
