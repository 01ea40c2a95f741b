package audio

import (
	"math"
	"time"

	"github.com/onair-studio/onair/internal/capture"
)

// Levels of the test tone: a steady tone, louder for capture.FlashLength
// after each whole second, when the test pattern flashes.
const (
	toneDBFS = -20.0
	beepDBFS = -6.0
)

// tone is the "tone:FREQ" source: a sine generated from the sample index,
// so it is the same whenever it is read, that beeps exactly while
// capture.Flash holds for the sample's capture time.
type tone struct {
	spec  string
	freq  float64
	clock Clock
}

func newTone(spec string, freq float64, clock Clock) *tone {
	return &tone{spec: spec, freq: freq, clock: clock}
}

var (
	toneAmp = math.Pow(10, toneDBFS/20)
	beepAmp = math.Pow(10, beepDBFS/20)
)

func (t *tone) Read(dst []float32, pts time.Duration) {
	n0 := SampleAt(pts)
	for i := 0; i < len(dst)/2; i++ {
		n := n0 + int64(i)
		amp := toneAmp
		if capture.Flash(t.clock.At(SampleTime(n))) {
			amp = beepAmp
		}
		// Whole cycles dropped first (48e6 samples hold whole cycles of
		// any frequency in thousandths of a hertz), so the phase stays
		// exact however long the stream runs.
		cycles := math.Mod(t.freq*float64(n%(SampleRate*1000)), SampleRate) / SampleRate
		v := float32(amp * math.Sin(2*math.Pi*cycles))
		dst[2*i], dst[2*i+1] = v, v
	}
}

func (t *tone) Status() Status {
	return Status{Live: true, Reason: "test tone at " + formatHz(t.freq) + ", beeping when the test pattern flashes"}
}
func (t *tone) Close() error   { return nil }
func (t *tone) String() string { return t.spec }
