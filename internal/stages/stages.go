// Package stages times the encoder's work on each frame, stage by stage
// (capture, compose, convert, encode, send), and sums it per second, so a
// user who sees skipped frames can see which stage is late.
//
// Recording costs two monotonic clock reads and a short uncontended lock
// per stage and frame, and allocates nothing.
package stages

import (
	"sync"
	"time"
)

// Stage is one step of a frame's way through the encoder.
type Stage int

const (
	Capture Stage = iota // reading the sources (the screen grab)
	Compose              // drawing the layers into the frame, less the capture
	Convert              // colour conversion into the encoder's pixel format
	Encode               // H.264 encoding, renditions' scaling included
	Send                 // handing the encoded frame to the return path
	count
)

// Names are the stages' names in status, in pipeline order.
var Names = [count]string{"capture", "compose", "convert", "encode", "send"}

func (s Stage) String() string { return Names[s] }

// Window is one second's figures.
type Window struct {
	// Frames counts the frames composed in the second, Skipped the frame
	// slots that passed without one.
	Frames, Skipped int64
	Mean, Max       [count]time.Duration
}

// base is the origin of Now: a monotonic reading, so Now never jumps with
// the wall clock.
var base = time.Now()

// Now is a monotonic time in nanoseconds, for Since.
func Now() int64 { return int64(time.Since(base)) }

// Since is the time since a Now reading.
func Since(start int64) time.Duration { return time.Duration(Now() - start) }

// Meter sums stage times per second. Its methods are safe from any
// goroutine: the compositor's and the encoder's both record.
type Meter struct {
	mu       sync.Mutex
	start    int64 // the current second's first Now
	frames   int64
	skipped  int64
	lastSlot int64
	sum, max [count]time.Duration
	n        [count]int64
	last     Window
	hasLast  bool
	now      func() int64 // Now; tests step a clock of their own
}

// NewMeter starts counting seconds now.
func NewMeter() *Meter { return newMeter(Now) }

func newMeter(now func() int64) *Meter { return &Meter{start: now(), lastSlot: -1, now: now} }

// Record adds one frame's time in stage s.
func (m *Meter) Record(s Stage, d time.Duration) {
	m.mu.Lock()
	m.roll()
	m.sum[s] += d
	m.n[s]++
	if d > m.max[s] {
		m.max[s] = d
	}
	m.mu.Unlock()
}

// Frame counts a composed frame in slot n; a gap since the last slot is
// skipped frames.
func (m *Meter) Frame(slot int64) {
	m.mu.Lock()
	m.roll()
	m.frames++
	if m.lastSlot >= 0 && slot > m.lastSlot+1 {
		m.skipped += slot - m.lastSlot - 1
	}
	m.lastSlot = slot
	m.mu.Unlock()
}

// Last returns the latest complete second, and false before the first one
// ended. A second in which no frame passed reports zero frames.
func (m *Meter) Last() (Window, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roll()
	return m.last, m.hasLast
}

// roll closes the current second once it is over. Called with mu held.
func (m *Meter) roll() {
	now := m.now()
	elapsed := now - m.start
	if elapsed < int64(time.Second) {
		return
	}
	w := Window{Frames: m.frames, Skipped: m.skipped, Max: m.max}
	for s := range w.Mean {
		if m.n[s] > 0 {
			w.Mean[s] = m.sum[s] / time.Duration(m.n[s])
		}
	}
	if elapsed >= 2*int64(time.Second) {
		w = Window{} // a whole second went by with nothing recorded
	}
	m.last, m.hasLast = w, true
	m.start = now - elapsed%int64(time.Second)
	m.frames, m.skipped = 0, 0
	m.sum, m.max, m.n = [count]time.Duration{}, [count]time.Duration{}, [count]int64{}
}
