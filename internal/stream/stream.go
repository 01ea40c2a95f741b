// Package stream is the master's one model of a stream: its tracks (H.264
// video with its parameter sets; AAC audio with its AudioSpecificConfig),
// the access units that flow on them, and the fan-out to every reader. The
// return path feeds it; destinations, the embedded server's feed, the slate
// and recordings all read it through the one Sink interface.
package stream

import (
	"slices"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// Kind is the track a unit belongs to.
type Kind int

const (
	Video Kind = iota
	Audio
)

// H264 describes a video track.
type H264 struct{ SPS, PPS []byte }

// Tracks are what a source carries. Video is always there; Audio is nil for
// a source without sound.
type Tracks struct {
	Video *H264
	Audio *mpeg4audio.AudioSpecificConfig
}

// SPS and PPS of the video track, nil if unknown.
func (t Tracks) SPS() []byte {
	if t.Video == nil {
		return nil
	}
	return t.Video.SPS
}

func (t Tracks) PPS() []byte {
	if t.Video == nil {
		return nil
	}
	return t.Video.PPS
}

// Unit is one access unit of one track. PTS counts the source's capture
// clock (it starts over with each new source); a video picture and the
// audio captured at the same moment carry the same PTS.
type Unit struct {
	Kind Kind
	PTS  time.Duration
	// NALUs of a picture, without start codes (video). The encoder uses no
	// B-frames, so decode order is presentation order.
	NALUs [][]byte
	// Key marks a picture a decoder can start at (video).
	Key bool
	// AAC is one raw AAC access unit, 1024 samples (audio).
	AAC []byte
}

// AACFrameSamples is how many samples one AAC-LC access unit carries.
const AACFrameSamples = 1024

// AACFrameDuration is how long one AAC access unit lasts at sampleRate.
func AACFrameDuration(sampleRate int) time.Duration {
	return AACFrameSamples * time.Second / time.Duration(sampleRate)
}

// VideoUnit is a picture, its keyframe flag read from its NAL units.
func VideoUnit(nalus [][]byte, pts time.Duration) Unit {
	return Unit{Kind: Video, PTS: pts, NALUs: nalus, Key: h264.IsRandomAccess(nalus)}
}

// AudioUnit is one AAC access unit.
func AudioUnit(aac []byte, pts time.Duration) Unit {
	return Unit{Kind: Audio, PTS: pts, AAC: aac}
}

// Sink is every reader of streams. Calls for one path come from one
// goroutine at a time; a sink copies what it keeps and never blocks.
type Sink interface {
	// SourceStarted says a source begins on path: its clock starts over
	// and tracks describe it.
	SourceStarted(path string, tracks Tracks)
	// Unit is one access unit of the source on path.
	Unit(path string, u Unit)
	// SourceStopped says the source on path went away.
	SourceStopped(path string)
}

// FanOut hands everything it hears to every sink added to it. It keeps
// each running source's tracks, so a sink added while a source runs (a
// recording started live) learns them before its first unit.
type FanOut struct {
	mu      sync.Mutex
	sinks   []Sink
	running map[string]Tracks // by path
}

// Add starts feeding s, first announcing each running source to it.
func (f *FanOut) Add(s Sink) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// Under the lock: no unit reaches s before the announcement does.
	for path, t := range f.running {
		s.SourceStarted(path, t)
	}
	f.sinks = append(f.sinks, s)
}

// Remove stops feeding s.
func (f *FanOut) Remove(s Sink) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A new slice: each may be iterating over the old one.
	f.sinks = slices.DeleteFunc(slices.Clone(f.sinks), func(x Sink) bool { return x == s })
}

// sinksFor returns the sinks to call, after note has updated the running
// sources under the same lock.
func (f *FanOut) sinksFor(note func()) []Sink {
	f.mu.Lock()
	defer f.mu.Unlock()
	if note != nil {
		note()
	}
	return f.sinks
}

func (f *FanOut) SourceStarted(path string, t Tracks) {
	ss := f.sinksFor(func() {
		if f.running == nil {
			f.running = map[string]Tracks{}
		}
		f.running[path] = t
	})
	for _, s := range ss {
		s.SourceStarted(path, t)
	}
}

func (f *FanOut) Unit(path string, u Unit) {
	for _, s := range f.sinksFor(nil) {
		s.Unit(path, u)
	}
}

func (f *FanOut) SourceStopped(path string) {
	for _, s := range f.sinksFor(func() { delete(f.running, path) }) {
		s.SourceStopped(path)
	}
}

// Unwrap turns a 32-bit RTP timestamp counter into a continuous count: it
// keeps the last value and adds the signed difference, so a track survives
// the counter's wrap (13 h at 90 kHz, 25 h at 48 kHz).
type Unwrap struct {
	started bool
	last    uint32
	total   int64
}

// Next returns the unwrapped count for ts.
func (u *Unwrap) Next(ts uint32) int64 {
	if !u.started {
		u.started, u.last, u.total = true, ts, int64(ts)
		return u.total
	}
	u.total += int64(int32(ts - u.last))
	u.last = ts
	return u.total
}

// Ticks converts d to a clock of rate ticks per second (an RTP clock),
// rounding to the nearest tick, without overflowing on long runs. Duration
// is its inverse.
func Ticks(d time.Duration, rate int64) int64 {
	return int64(d/time.Second)*rate + (int64(d%time.Second)*rate+int64(time.Second)/2)/int64(time.Second)
}

// Duration converts ticks at rate per second to a duration without
// overflowing on long runs.
func Duration(ticks, rate int64) time.Duration {
	return time.Duration(ticks/rate)*time.Second + time.Duration(ticks%rate)*time.Second/time.Duration(rate)
}
