package audio

import (
	"math"
	"testing"
	"time"
)

// A device whose clock runs 0.1% fast delivers 48048 samples per second of
// the capture clock. Fed chunk by chunk with each chunk's true capture
// time, the resampler's output must stay on the capture clock: however
// long it runs, the samples it has produced (plus those inside its filter)
// end where the capture clock says, within less than a video frame,
// instead of 0.1% of the elapsed time ahead (60 ms a minute, 3.6 s an hour).
func TestDriftLockedToCaptureClock(t *testing.T) {
	const (
		deviceRate = SampleRate * 1001 / 1000 // samples per capture-clock second
		chunk      = 960                      // 20 ms as the device counts
		minutes    = 10
	)
	r, err := newResampler(SampleRate, Channels)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	in := make([]int16, Channels*chunk)
	var first int64
	worst := int64(0)
	chunks := minutes * 60 * deviceRate / chunk
	for j := 0; j < chunks; j++ {
		for i := 0; i < chunk; i++ { // a 440 Hz tone, as the device counts time
			v := int16(8000 * math.Sin(2*math.Pi*440*float64(j*chunk+i)/SampleRate))
			in[2*i], in[2*i+1] = v, v
		}
		pts := time.Duration(int64(j) * chunk * int64(time.Second) / deviceRate)
		_, at, err := r.convert(in, pts)
		if err != nil {
			t.Fatal(err)
		}
		if j == 0 {
			first = at
		}
		next := time.Duration(int64(j+1) * chunk * int64(time.Second) / deviceRate)
		errSamples := first + r.produced + r.delay() - SampleAt(next)
		worst = max(worst, errSamples, -errSamples)
	}
	drift := SampleTime(worst)
	t.Logf("after %d min at +0.1%%: output within %v of the capture clock", minutes, drift)
	if drift > 25*time.Millisecond {
		t.Errorf("output drifted %v from the capture clock (want under 25 ms; a 30 fps frame is 33 ms)", drift)
	}
}
