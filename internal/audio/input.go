package audio

import "time"

// Input is one source the mixer reads. The mixer pulls: for each block it
// asks every input for the samples that play at a capture-clock time, so a
// generated source computes them, a live device hands over what it captured
// for that time (silence where it has none), and a media file, later, can
// decode up to it.
type Input interface {
	// Read fills dst, interleaved stereo (len(dst)/2 samples), with the
	// samples that play from capture-clock time pts on. It never blocks on
	// a device; what the source does not have is silence.
	Read(dst []float32, pts time.Duration)
	// Status says whether the source delivers sound, and if not why.
	Status() Status
	// Close stops the source.
	Close() error
	// String is the source string the input was opened from.
	String() string
}

// Status is a source's health as a person reads it.
type Status struct {
	// Live is true while the source delivers its sound; false means it
	// plays silence.
	Live bool
	// Reason says what the source plays, or why it is silent.
	Reason string
}

// silence is an input that plays nothing, with a reason.
type silence struct{ reason string }

func (s silence) Read(dst []float32, _ time.Duration) { clear(dst) }
func (s silence) Status() Status                      { return Status{Reason: s.reason} }
func (s silence) Close() error                        { return nil }
func (s silence) String() string                      { return SourceNone }
