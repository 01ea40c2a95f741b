// Package replay keeps the last seconds of the program's encoded packets in
// the master (the replay buffer) and writes any stretch of them as a normal
// MP4 that starts on a keyframe, moov box first, so a player or an upload
// site can start it before it has read it all.
//
// A Buffer is a stream.Sink: each call copies one access unit and trims
// the oldest whole GOPs, nothing more, so the live outputs that share the
// fan-out never wait for it. It holds at most Keep of stream and MaxBytes of
// payload, whichever is less.
package replay

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/onair-studio/onair/internal/stream"
)

const (
	// DefaultKeep is how much program the buffer holds by default.
	DefaultKeep = 30 * time.Second
	// MaxKeep is the longest buffer allowed.
	MaxKeep = 10 * time.Minute
	// DefaultMaxBytes bounds the buffer's payload: 30 s of a 6 Mbit/s
	// program and its sound fit several times over.
	DefaultMaxBytes = 256 << 20
)

// Buffer holds the recent units of one stream path.
type Buffer struct {
	path     string
	keep     time.Duration
	maxBytes int

	mu     sync.Mutex
	tracks stream.Tracks
	units  []stream.Unit // oldest first, beginning with a keyframe
	bytes  int
}

// New keeps the last keep (0: DefaultKeep) of path, bounded by maxBytes
// (0: DefaultMaxBytes).
func New(path string, keep time.Duration, maxBytes int) (*Buffer, error) {
	if keep == 0 {
		keep = DefaultKeep
	}
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	if keep < time.Second || keep > MaxKeep {
		return nil, fmt.Errorf("replay buffer of %v: it holds 1 s to %v", keep, MaxKeep)
	}
	if maxBytes < 1<<20 {
		return nil, fmt.Errorf("replay buffer of %d bytes: it needs at least 1 MiB", maxBytes)
	}
	return &Buffer{path: path, keep: keep, maxBytes: maxBytes}, nil
}

// Keep is how much stream the buffer holds when its bytes allow.
func (b *Buffer) Keep() time.Duration { return b.keep }

// SourceStarted begins anew: a new source has a new clock, and its
// parameter sets may differ, so a clip never spans two sources.
func (b *Buffer) SourceStarted(path string, t stream.Tracks) {
	if path != b.path {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tracks, b.units, b.bytes = t, nil, 0
}

func (b *Buffer) SourceStopped(string) {}

// Unit copies u and drops the oldest GOPs beyond the bounds.
func (b *Buffer) Unit(path string, u stream.Unit) {
	if path != b.path {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.units) == 0 && !(u.Kind == stream.Video && u.Key) {
		return // a clip starts on a keyframe
	}
	c := stream.Unit{Kind: u.Kind, PTS: u.PTS, Key: u.Key}
	n := len(u.AAC)
	if u.Kind == stream.Video {
		buf := make([]byte, 0, naluSize(u.NALUs))
		c.NALUs = make([][]byte, len(u.NALUs))
		for i, nalu := range u.NALUs {
			buf = append(buf, nalu...)
			c.NALUs[i] = buf[len(buf)-len(nalu):]
		}
		n = len(buf)
	} else {
		c.AAC = append([]byte(nil), u.AAC...)
	}
	b.units = append(b.units, c)
	b.bytes += n
	// Checked at keyframes only (the drop is whole GOPs), or when over bytes.
	if c.Key || b.bytes > b.maxBytes {
		b.trim(u.PTS)
	}
}

// trim drops the oldest GOP while the next one still starts keep before
// newest, or while the buffer is over its bytes.
func (b *Buffer) trim(newest time.Duration) {
	for {
		next := -1
		for i := 1; i < len(b.units); i++ {
			if u := b.units[i]; u.Kind == stream.Video && u.Key {
				next = i
				break
			}
		}
		if next < 0 || (b.units[next].PTS > newest-b.keep && b.bytes <= b.maxBytes) {
			return
		}
		for _, u := range b.units[:next] {
			b.bytes -= unitSize(u)
		}
		clear(b.units[:next]) // let the dropped payloads go
		b.units = b.units[next:]
	}
}

// Stats is what the buffer holds now.
type Stats struct {
	Bytes    int           // payload held
	Held     time.Duration // from the oldest picture to the newest unit
	Keep     time.Duration
	MaxBytes int
}

func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Stats{Bytes: b.bytes, Keep: b.keep, MaxBytes: b.maxBytes}
	if n := len(b.units); n > 0 {
		s.Held = b.units[n-1].PTS - b.units[0].PTS
	}
	return s
}

// ErrEmpty says there is nothing to save yet.
var ErrEmpty = errors.New("the replay buffer holds no picture yet (is the program running?)")

// Clip is a stretch of stream starting on a keyframe: its tracks and units,
// pictures and sound interleaved in arrival order.
type Clip struct {
	Tracks stream.Tracks
	Units  []stream.Unit
	Bytes  int
}

// Clip returns the last seconds of the stream (0: all it holds), starting
// at the keyframe nearest to that many seconds before the newest picture,
// so its length is seconds give or take half a GOP. The units are shared,
// not copied: they are never changed once in the buffer.
func (b *Buffer) Clip(seconds time.Duration) (Clip, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	last := -1
	for i := len(b.units) - 1; i >= 0; i-- {
		if b.units[i].Kind == stream.Video {
			last = i
			break
		}
	}
	if last < 0 {
		return Clip{}, ErrEmpty
	}
	start := 0
	if seconds > 0 {
		want := b.units[last].PTS - seconds
		best := time.Duration(-1)
		for i, u := range b.units {
			if u.Kind != stream.Video || !u.Key {
				continue
			}
			d := u.PTS - want
			if d < 0 {
				d = -d
			}
			if best < 0 || d < best {
				start, best = i, d
			}
		}
	}
	c := Clip{Tracks: b.tracks, Units: append([]stream.Unit(nil), b.units[start:]...)}
	for _, u := range c.Units {
		c.Bytes += unitSize(u)
	}
	return c, nil
}

func naluSize(nalus [][]byte) int {
	n := 0
	for _, x := range nalus {
		n += len(x)
	}
	return n
}

func unitSize(u stream.Unit) int {
	if u.Kind == stream.Video {
		return naluSize(u.NALUs)
	}
	return len(u.AAC)
}
