package audio

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-studio/onair/internal/audiolimits"
	"github.com/onair-studio/onair/internal/gosched"
)

// Meter settings: levels go out every meterBlocks blocks (85 ms, about 12
// times a second), and a silent channel reads MeterFloorDB.
const (
	meterBlocks  = 4
	MeterFloorDB = -120.0
	// DefaultLatency is how far behind the capture clock the mixer works,
	// so that live sources have delivered a block's samples when it is
	// mixed: a 40 ms PulseAudio fragment, the server's own buffering and a
	// busy machine's scheduling (100 ms lost sound under the race detector).
	DefaultLatency = 150 * time.Millisecond
	// mixBatch is how many blocks Run mixes per wake-up (64 ms): later
	// sound at the viewer by that much at most, for a third of the wake-ups.
	mixBatch = 3
)

// Block is one mixed block: FrameSamples interleaved stereo samples that
// play from capture-clock time PTS on, each within -1..1.
type Block struct {
	PTS     time.Duration
	Samples []float32
}

// Levels are the mix's meters over the last meterBlocks blocks, after the
// master volume and before clipping, in dBFS per channel (left, right).
// RMS is the plain root mean square: a sine peaking at 0 dBFS reads -3.
type Levels struct {
	PTS       time.Duration // start of the measured window
	Peak, RMS [Channels]float64
	// Clipped counts the samples (each channel's) cut at full scale since
	// the mixer started.
	Clipped int64
}

// MixerOptions configure a Mixer; zero fields take the defaults noted.
type MixerOptions struct {
	// Latency is how far behind the capture clock Run mixes
	// (DefaultLatency). A source with a negative sync offset adds to it.
	Latency time.Duration
	// OnLevels receives the meters on the mixing goroutine; it must not
	// block (forward them, do not work on them).
	OnLevels func(Levels)
	// Filter, when set, changes each unmuted source's block in place
	// before its volume and the mix (a sound filter plugin on the
	// microphone). It runs on the mixing goroutine and must return within
	// its deadline, leaving the block as it was when it cannot filter it.
	Filter BlockFilter
}

// BlockFilter changes the block (FrameSamples interleaved stereo samples)
// of the source named source in place.
type BlockFilter func(source string, block []float32)

// SourceInfo is one of the mixer's sources as the pipeline shows it.
type SourceInfo struct {
	Name     string
	Source   string // the source string
	Status   Status
	VolumeDB float64
	Muted    bool
	Offset   time.Duration
}

// Mixer sums its sources, each with its own volume, mute and sync offset,
// then applies the master volume, meters and clips. Its settings may change
// from any goroutine; Mix and Run run on one.
type Mixer struct {
	clock Clock
	opts  MixerOptions

	mu       sync.Mutex
	strips   []*strip
	masterDB float64

	clipped atomic.Int64
	// Meter window, touched only by the mixing goroutine.
	meterN     int
	meterPTS   time.Duration
	peak       [Channels]float32
	sumSquares [Channels]float64
	scratch    []float32
}

type strip struct {
	name     string
	in       Input
	volumeDB float64
	muted    bool
	offset   time.Duration
}

// NewMixer is a mixer with no sources on clock.
func NewMixer(clock Clock, opts MixerOptions) *Mixer {
	if opts.Latency == 0 {
		opts.Latency = DefaultLatency
	}
	return &Mixer{clock: clock, opts: opts, scratch: make([]float32, Channels*FrameSamples)}
}

// Add adds a source under a name unique in this mixer, at 0 dB.
func (m *Mixer) Add(name string, in Input) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if name == "" {
		return fmt.Errorf("audio: a source needs a name (%s)", in)
	}
	if m.find(name) != nil {
		return fmt.Errorf("audio: there is already a source named %q", name)
	}
	m.strips = append(m.strips, &strip{name: name, in: in})
	return nil
}

// Remove takes a source out of the mix and closes it.
func (m *Mixer) Remove(name string) error {
	m.mu.Lock()
	s, err := m.strip(name)
	if err == nil {
		m.strips = deleteStrip(m.strips, s)
	}
	m.mu.Unlock()
	if err != nil {
		return err
	}
	return s.in.Close()
}

func deleteStrip(list []*strip, s *strip) []*strip {
	out := list[:0:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// SetVolume sets a source's volume in dB (see audiolimits.CheckVolumeDB).
func (m *Mixer) SetVolume(name string, db float64) error {
	if err := audiolimits.CheckVolumeDB(db); err != nil {
		return fmt.Errorf("audio: source %q: %w", name, err)
	}
	return m.set(name, func(s *strip) { s.volumeDB = db })
}

// SetMute mutes or unmutes a source.
func (m *Mixer) SetMute(name string, muted bool) error {
	return m.set(name, func(s *strip) { s.muted = muted })
}

// SetOffset delays a source by d (negative: plays it earlier), within
// audiolimits.MaxSyncOffset, to line it up with the picture.
func (m *Mixer) SetOffset(name string, d time.Duration) error {
	if err := audiolimits.CheckSyncOffset(d); err != nil {
		return fmt.Errorf("audio: source %q: %w", name, err)
	}
	return m.set(name, func(s *strip) { s.offset = d })
}

// SetMasterVolume sets the volume of the whole mix in dB.
func (m *Mixer) SetMasterVolume(db float64) error {
	if err := audiolimits.CheckVolumeDB(db); err != nil {
		return fmt.Errorf("audio: master: %w", err)
	}
	m.mu.Lock()
	m.masterDB = db
	m.mu.Unlock()
	return nil
}

func (m *Mixer) set(name string, change func(*strip)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.strip(name)
	if err != nil {
		return err
	}
	change(s)
	return nil
}

func (m *Mixer) find(name string) *strip {
	for _, s := range m.strips {
		if s.name == name {
			return s
		}
	}
	return nil
}

// strip finds a source or says which ones there are.
func (m *Mixer) strip(name string) (*strip, error) {
	if s := m.find(name); s != nil {
		return s, nil
	}
	names := make([]string, len(m.strips))
	for i, s := range m.strips {
		names[i] = s.name
	}
	sort.Strings(names)
	return nil, fmt.Errorf("audio: no source named %q (sources: %s)", name, strings.Join(names, ", "))
}

// Sources lists the sources with their settings and status.
func (m *Mixer) Sources() []SourceInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]SourceInfo, len(m.strips))
	for i, s := range m.strips {
		out[i] = SourceInfo{Name: s.name, Source: s.in.String(), Status: s.in.Status(), VolumeDB: s.volumeDB, Muted: s.muted, Offset: s.offset}
	}
	return out
}

// Clipped is how many samples were cut at full scale since the start.
func (m *Mixer) Clipped() int64 { return m.clipped.Load() }

// Close closes every source.
func (m *Mixer) Close() error {
	m.mu.Lock()
	strips := m.strips
	m.strips = nil
	m.mu.Unlock()
	var first error
	for _, s := range strips {
		if err := s.in.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// gain is a volume in dB as a factor.
func gain(db float64) float32 { return float32(math.Pow(10, db/20)) }

// Mix fills out (FrameSamples interleaved stereo samples) with the mix that
// plays from capture-clock time pts on, and meters it.
func (m *Mixer) Mix(pts time.Duration, out []float32) {
	m.mu.Lock()
	strips := append([]*strip(nil), m.strips...)
	settings := make([]strip, len(strips))
	for i, s := range strips {
		settings[i] = *s
	}
	master := gain(m.masterDB)
	m.mu.Unlock()

	clear(out)
	in := m.scratch[:len(out)]
	for _, s := range settings {
		// A source delayed by its offset plays now what it had then. A
		// muted one is read too, so a live device keeps taking in what it
		// captures.
		s.in.Read(in, pts-s.offset)
		if s.muted {
			continue
		}
		if m.opts.Filter != nil {
			m.opts.Filter(s.name, in)
		}
		g := gain(s.volumeDB)
		for i, v := range in {
			out[i] += g * v
		}
	}
	clipped := int64(0)
	for i, v := range out {
		v *= master
		ch := i % Channels
		a := float32(math.Abs(float64(v)))
		m.peak[ch] = max(m.peak[ch], a)
		m.sumSquares[ch] += float64(v) * float64(v)
		if a > 1 {
			clipped++
			v = float32(math.Copysign(1, float64(v)))
		}
		out[i] = v
	}
	m.clipped.Add(clipped)
	if m.meterN == 0 {
		m.meterPTS = pts
	}
	if m.meterN++; m.meterN == meterBlocks {
		m.publishLevels(len(out) / Channels * meterBlocks)
	}
}

func (m *Mixer) publishLevels(samples int) {
	l := Levels{PTS: m.meterPTS, Clipped: m.clipped.Load()}
	for ch := range Channels {
		l.Peak[ch] = DBFS(float64(m.peak[ch]))
		l.RMS[ch] = DBFS(math.Sqrt(m.sumSquares[ch] / float64(samples)))
	}
	m.meterN, m.peak, m.sumSquares = 0, [Channels]float32{}, [Channels]float64{}
	if m.opts.OnLevels != nil {
		m.opts.OnLevels(l)
	}
}

// DBFS is a linear level (1 = full scale) in dBFS, MeterFloorDB for silence.
func DBFS(v float64) float64 {
	if v <= 0 {
		return MeterFloorDB
	}
	return max(20*math.Log10(v), MeterFloorDB)
}

// latency is how far behind the capture clock Run mixes: the base latency
// plus the earliest any source is asked to play (a negative offset reads
// ahead).
func (m *Mixer) latency() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	ahead := time.Duration(0)
	for _, s := range m.strips {
		ahead = max(ahead, -s.offset)
	}
	return m.opts.Latency + ahead
}

// Run mixes block after block on the capture clock until ctx ends, handing
// each to consume on its own goroutine. Blocks are contiguous from the one
// playing now: none is skipped when consume is late, so the stream never
// has a gap (late blocks are mixed as fast as they can be caught up).
func (m *Mixer) Run(ctx context.Context, consume func(Block)) { m.RunBatched(ctx, consume, nil) }

// RunBatched is Run that also calls flush, when not nil, after the blocks
// of each wake-up: whoever sends what consume makes can then send it all
// at once, one wake-up downstream instead of one per block.
func (m *Mixer) RunBatched(ctx context.Context, consume func(Block), flush func()) {
	k := SampleAt(m.clock.Since()) / FrameSamples
	sleeper := gosched.NewSleeper() // one wake-up a batch, on time
	defer sleeper.Close()
	for {
		// Mix every block that is due, then sleep until mixBatch more are:
		// a wake-up costs more than mixing a block does.
		for SampleTime((k+1)*FrameSamples)+m.latency() <= m.clock.Since() {
			if ctx.Err() != nil {
				return
			}
			b := Block{PTS: SampleTime(k * FrameSamples), Samples: make([]float32, Channels*FrameSamples)}
			m.Mix(b.PTS, b.Samples)
			consume(b)
			k++
		}
		if flush != nil {
			flush()
		}
		due := SampleTime((k+mixBatch)*FrameSamples) + m.latency()
		if !sleeper.Sleep(ctx, due-m.clock.Since()) {
			return
		}
	}
}
