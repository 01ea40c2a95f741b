// Command noisegate is an OnAir sound filter plugin for the microphone: it
// silences the sound while it stays below a threshold (room noise, a fan,
// keyboard hum between sentences) and lets it through, unchanged, while it
// is louder (the voice).
package main

import (
	"context"
	"math"
	"strconv"

	"github.com/onair-studio/onair/plugins/sdk"
)

var info = sdk.Info{
	Name: "noisegate", Version: "1.0.0", Kind: sdk.KindFilter, Formats: []string{sdk.FormatAudio},
	Description: "Silences a sound source while it is quieter than a threshold.",
	Params: []sdk.Param{
		{Name: "threshold", Type: sdk.TypeFloat, Default: "-40", Min: "-90", Max: "0",
			Description: "dBFS: sound whose peaks stay below this is silenced"},
		{Name: "attack", Type: sdk.TypeFloat, Default: "5", Min: "0.1", Max: "500",
			Description: "ms the gate takes to open fully once the sound is louder"},
		{Name: "release", Type: sdk.TypeFloat, Default: "150", Min: "1", Max: "5000",
			Description: "ms the gate takes to close fully once the sound is quieter"},
	},
}

// detectorMs is how fast the level the gate listens to falls after a peak:
// long enough to ride over the troughs of a low voice (100 Hz is 10 ms a
// cycle), short enough that the gate starts closing soon after the voice.
const detectorMs = 20

type gate struct {
	sdk.Base
	threshold  float32 // linear
	rise, fall float32 // gain change per sample, opening and closing
	decay      float32 // the detector's per-sample fall

	// Carried from block to block: consecutive blocks are one sound.
	level, gain float32
}

func (*gate) Info() sdk.Info { return info }

func perSample(ms float64) float32 { return float32(1 / (ms / 1000 * sdk.AudioRate)) }

// Configure takes the parameters, already checked against their ranges by
// the studio.
func (g *gate) Configure(_ context.Context, p map[string]string) error {
	num := func(k string) float64 { v, _ := strconv.ParseFloat(p[k], 64); return v }
	g.threshold = float32(math.Pow(10, num("threshold")/20))
	g.rise, g.fall = perSample(num("attack")), perSample(num("release"))
	g.decay = float32(math.Exp(-1 / (detectorMs / 1000.0 * sdk.AudioRate)))
	return nil
}

// FilterAudio ramps the gain toward 1 while the detected level is at or
// above the threshold and toward 0 while it is below, linearly over the
// attack and release times, applying the same gain to both channels.
func (g *gate) FilterAudio(_ context.Context, a *sdk.AudioFrame) error {
	s, ch := a.Samples, a.Channels
	for i := 0; i+ch <= len(s); i += ch {
		peak := float32(0)
		for c := range ch {
			peak = max(peak, abs(s[i+c]))
		}
		g.level = max(peak, g.level*g.decay)
		if g.level >= g.threshold {
			g.gain = min(g.gain+g.rise, 1)
		} else {
			g.gain = max(g.gain-g.fall, 0)
		}
		for c := range ch {
			s[i+c] *= g.gain
		}
	}
	return nil
}

func abs(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

func main() { sdk.Serve(&gate{}) }
