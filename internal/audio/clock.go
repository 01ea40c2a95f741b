package audio

import "time"

// The format everything inside the engine runs at.
const (
	SampleRate = 48000
	Channels   = 2
	// FrameSamples is one AAC frame, and the block the mixer works in.
	FrameSamples = 1024
)

// Clock is the capture clock: the wall clock the video compositor stamps
// frames with, read as the time since Start that both share. The pipeline
// passes its own; Now may be replaced in tests.
type Clock struct {
	Start time.Time
	Now   func() time.Time // nil means time.Now
}

// NewClock is a capture clock starting now.
func NewClock() Clock { return Clock{Start: time.Now()} }

// Since is the capture-clock time now.
func (c Clock) Since() time.Duration {
	if c.Now == nil {
		return time.Since(c.Start)
	}
	return c.Now().Sub(c.Start)
}

// At is the wall-clock instant of capture-clock time pts.
func (c Clock) At(pts time.Duration) time.Time { return c.Start.Add(pts) }

// SampleTime is the capture-clock time of sample n (n/48000 s), exact to
// the nanosecond rounded down, without overflow for centuries.
func SampleTime(n int64) time.Duration {
	return time.Duration(n/SampleRate)*time.Second + time.Duration(n%SampleRate)*time.Second/SampleRate
}

// SampleAt is the sample playing at capture-clock time d (rounded to the
// nearest), the inverse of SampleTime.
func SampleAt(d time.Duration) int64 {
	s, r := int64(d/time.Second), int64(d%time.Second)
	return s*SampleRate + (r*SampleRate+int64(time.Second)/2)/int64(time.Second)
}
