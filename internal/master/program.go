package master

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/onair-studio/onair/internal/rtsp"
)

// programPath is where the encoder publishes the program on the return path.
const programPath = "program"

// program receives the encoder's stream from the return path and hands it to
// whatever consumes it in the master.
type program struct {
	frames atomic.Uint64

	mu        sync.Mutex
	consumers []rtsp.Sink
}

func (p *program) add(c rtsp.Sink) {
	p.mu.Lock()
	p.consumers = append(p.consumers, c)
	p.mu.Unlock()
}

func (p *program) remove(c rtsp.Sink) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// A new slice: each() may be iterating over the old one.
	p.consumers = slices.DeleteFunc(slices.Clone(p.consumers), func(x rtsp.Sink) bool { return x == c })
}

func (p *program) each(f func(rtsp.Sink)) {
	p.mu.Lock()
	cs := p.consumers
	p.mu.Unlock()
	for _, c := range cs {
		f(c)
	}
}

func (p *program) SourceStarted(path string, sps, pps []byte) {
	p.each(func(c rtsp.Sink) { c.SourceStarted(path, sps, pps) })
}

func (p *program) AccessUnit(path string, au rtsp.AccessUnit) {
	if path == programPath {
		p.frames.Add(1)
	}
	p.each(func(c rtsp.Sink) { c.AccessUnit(path, au) })
}

func (p *program) SourceStopped(path string) {
	p.each(func(c rtsp.Sink) { c.SourceStopped(path) })
}
