// Package stats turns the master's running counters into the rates the
// stats bar shows: frames per second, outgoing bitrate, and the CPU the
// master's processes use (which the master reports, so an attached window
// on another PC shows it too).
package stats

import (
	"time"

	"github.com/onair-studio/onair/stub/pb"
)

// Reading is what the stats bar shows.
type Reading struct {
	FPS     float64
	Kbps    float64 // sent to all destinations together
	Skipped uint64  // frames the compositor had no time for
	Dropped uint64  // frames destinations and the recorder left out
	CPU     float64 // percent of one core; negative when unknown
	Valid   bool    // false until two samples a second apart exist
}

// Meter keeps the previous sample. Rates are taken over at least a second,
// because status events come several times a second and would jitter.
type Meter struct {
	prev   sample
	have   bool
	latest Reading
}

type sample struct {
	at      time.Time
	encoded uint64
	bytes   uint64
	ticks   uint64
	cpuOK   bool
	pid     int32
}

const window = time.Second

// Add takes a status seen at a time and returns the reading to show.
func (m *Meter) Add(st *pb.MasterStatus, at time.Time) Reading {
	s := sample{at: at, encoded: st.GetEncoder().GetEncodedFrames(), pid: st.GetPid()}
	var dropped uint64
	for _, d := range st.GetDestinations() {
		s.bytes += d.GetBytesSent()
		dropped += d.GetFramesDropped()
	}
	dropped += st.GetRecording().GetFramesDropped()
	s.ticks, s.cpuOK = st.GetCpuTicks(), st.GetCpuTicks() > 0
	m.latest.Skipped, m.latest.Dropped = st.GetEncoder().GetSkippedFrames(), dropped
	// A new master, or counters that went back (a restarted encoder),
	// start the window again.
	if !m.have || s.pid != m.prev.pid || s.encoded < m.prev.encoded || s.bytes < m.prev.bytes {
		m.prev, m.have = s, true
		m.latest.Valid, m.latest.CPU = false, -1
		return m.latest
	}
	dt := at.Sub(m.prev.at)
	if dt < window {
		return m.latest
	}
	sec := dt.Seconds()
	m.latest.FPS = float64(s.encoded-m.prev.encoded) / sec
	m.latest.Kbps = float64(s.bytes-m.prev.bytes) * 8 / 1000 / sec
	m.latest.CPU = -1
	if s.cpuOK && m.prev.cpuOK && s.ticks >= m.prev.ticks {
		m.latest.CPU = float64(s.ticks-m.prev.ticks) / sec // ticks are 1/100 s: this is percent
	}
	m.latest.Valid = true
	m.prev = s
	return m.latest
}
