package main

import (
	"context"
	"math"
	"math/rand"
	"testing"

	"github.com/onair-studio/onair/plugins/sdk"
	"github.com/onair-studio/onair/plugins/sdk/sdktest"
)

// block is one stereo block: a sine of amplitude amp (dBFS) at 440 Hz plus
// white noise of amplitude noise (dBFS), from sample n0 on.
func block(n0 int, amp, noise float64, r *rand.Rand) []float32 {
	b := make([]float32, sdk.AudioBlock*sdk.AudioChannels)
	a, z := math.Pow(10, amp/20), math.Pow(10, noise/20)
	for i := range sdk.AudioBlock {
		v := 0.0
		if amp > -120 {
			v = a * math.Sin(2*math.Pi*440*float64(n0+i)/sdk.AudioRate)
		}
		b[2*i] = float32(v + z*(2*r.Float64()-1))
		b[2*i+1] = float32(v + z*(2*r.Float64()-1))
	}
	return b
}

func rms(b []float32) float64 {
	s := 0.0
	for _, v := range b {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(b)))
}

func db(v float64) float64 { return 20 * math.Log10(max(v, 1e-9)) }

// Noise under the threshold is silenced; a tone above it passes at its own
// level once the gate has opened; after it the gate closes again.
func TestGateSilencesQuietAndPassesLoud(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var in [][]float32
	for k := range 30 { // 10 blocks noise, 10 tone over noise, 10 noise
		amp := -120.0
		if k >= 10 && k < 20 {
			amp = -10
		}
		in = append(in, block(k*sdk.AudioBlock, amp, -55, r))
	}
	out := sdktest.FilterAudio(t, &gate{}, map[string]string{"threshold": "-40", "attack": "2", "release": "50"}, in...)
	for k, b := range out {
		before, after := db(rms(in[k])), db(rms(b))
		switch {
		case k < 10 || k >= 26: // the gate had time to close (detector ~70 ms + release)
			if after > before-40 {
				t.Errorf("block %d (noise at %.1f dB) is %.1f dB after the gate, want 40 dB less", k, before, after)
			}
		case k >= 11 && k < 20:
			if math.Abs(after-before) > 0.5 {
				t.Errorf("block %d (tone at %.1f dB) is %.1f dB after the gate, want it unchanged", k, before, after)
			}
		}
	}
}

// The gate's times are what it is told: with a 100 ms release, 50 ms after
// the sound stops it is half closed.
func TestReleaseTakesItsTime(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	loud := block(0, -6, -120, r)
	quiet := make([]float32, len(loud))
	for i := range quiet {
		quiet[i] = 0.001 // -60 dBFS, steady
	}
	out := sdktest.FilterAudio(t, &gate{}, map[string]string{"threshold": "-30", "attack": "1", "release": "100"},
		loud, loud, quiet, quiet, quiet, quiet, quiet, quiet, quiet, quiet, quiet, quiet)
	// Sample 2400 after the tone (50 ms): the detector's fall first (about
	// 20 ms * ln(0.5/0.03) ≈ 56 ms to cross -30 dB from -6), then the ramp,
	// so the gain there is still near 1, and it is 0 well before 300 ms.
	at := func(n int) float32 { return out[2+n/sdk.AudioBlock][2*(n%sdk.AudioBlock)] / 0.001 }
	if g := at(2400); g < 0.9 {
		t.Errorf("gain 50 ms after the tone is %.2f, want the gate still open (the detector holds ~56 ms)", g)
	}
	if g := at(48 * 200); g > 0.1 || g < 0 {
		t.Errorf("gain 200 ms after the tone is %.2f, want the gate closed (56 ms hold + 100 ms release)", g)
	}
	if g := at(48 * 110); g < 0.3 || g > 0.7 {
		t.Errorf("gain 110 ms after the tone is %.2f, want it about half closed", g)
	}
}

// Parameters out of range or not numbers are refused before the gate
// sees them, with the parameter's name.
func TestParamsChecked(t *testing.T) {
	for _, p := range []map[string]string{
		{"threshold": "5"}, {"threshold": "NaN"}, {"attack": "0"}, {"release": "abc"}, {"release": "10000"},
	} {
		if _, err := sdk.Resolve(info.Params, p); err == nil {
			t.Errorf("%v accepted", p)
		}
	}
}

// The gate's own time per block (21.3 ms of sound), against its 7.1 ms
// deadline.
func BenchmarkGateBlock(b *testing.B) {
	g := &gate{}
	sdktest.Configure(b, g, nil)
	blk := block(0, -20, -50, rand.New(rand.NewSource(3)))
	a := &sdk.AudioFrame{Samples: blk, Channels: sdk.AudioChannels, Rate: sdk.AudioRate}
	b.ResetTimer()
	for range b.N {
		g.FilterAudio(context.Background(), a)
	}
}
