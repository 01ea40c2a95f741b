package audio

import "time"

// Stamping: a chunk's capture time follows the device's own sample count,
// pulled slowly toward when the chunks arrive. Scheduling jitter in the
// arrivals averages out; a device clock that runs fast or slow shows as a
// slow ramp, which the stamps follow (about 1.3 ms behind at 0.1% with
// 20 ms chunks) and the resampler then corrects. libavdevice's own pulse
// timestamps were tried: its time filter starts hundreds of milliseconds
// off and takes seconds to settle, which the resampler heard as a pitch
// bend.
const (
	stampGain   = 1.0 / 64
	stampResync = 200 * time.Millisecond
)

// stamper gives one device stream's chunks their capture-clock times.
type stamper struct {
	rate    int
	base    time.Duration // capture time of the stream's first sample
	samples int64         // samples stamped so far
	started bool
}

// stamp returns the capture time of the first sample of a chunk of frames
// that arrived (was fully read) at capture time arrival. A jump further
// than stampResync (a stall, a burst after a reconnect) starts over.
func (s *stamper) stamp(arrival time.Duration, frames int) time.Duration {
	observed := arrival - s.duration(int64(frames))
	expected := s.base + s.duration(s.samples)
	if d := observed - expected; !s.started || d > stampResync || d < -stampResync {
		s.base, s.started = observed-s.duration(s.samples), true
		expected = observed
	} else {
		s.base += time.Duration(float64(d) * stampGain)
	}
	s.samples += int64(frames)
	return expected
}

func (s *stamper) duration(n int64) time.Duration {
	return time.Duration(n/int64(s.rate))*time.Second + time.Duration(n%int64(s.rate))*time.Second/time.Duration(s.rate)
}
