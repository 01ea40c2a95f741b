package audio

import (
	"math"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/onair-studio/onair/internal/testpeer"
)

// Digital silence costs no codec time once the codec has settled into it,
// and the stream still decodes, in ffmpeg's decoder, to what the codec
// makes when it encodes every block: the same frame times, silence where
// the program was silent, and the sound after it unchanged.
func TestSilenceSkipsTheCodec(t *testing.T) {
	const toneBlocks, quietBlocks = 47, 94 // about 1 s of a tone, 2 s of silence
	const freq, amp = 440.0, 0.25          // -12 dBFS
	var blocks []Block
	for k := range 2*toneBlocks + quietBlocks {
		b := Block{PTS: SampleTime(int64(k) * FrameSamples), Samples: make([]float32, Channels*FrameSamples)}
		if k < toneBlocks || k >= toneBlocks+quietBlocks {
			for i := range FrameSamples {
				v := float32(amp * math.Sin(2*math.Pi*freq*float64(k*FrameSamples+i)/SampleRate))
				b.Samples[Channels*i], b.Samples[Channels*i+1] = v, v
			}
		}
		blocks = append(blocks, b)
	}
	got, skipped := encodeBlocks(t, blocks, silentAfter)
	want, none := encodeBlocks(t, blocks, math.MaxInt) // the codec for every block
	if none != 0 {
		t.Fatalf("the reference skipped %d blocks", none)
	}
	if min := uint64(quietBlocks - silentAfter - 2); skipped < min {
		t.Errorf("the codec was skipped for %d of %d silent blocks, want at least %d", skipped, quietBlocks, min)
	}
	samePTS(t, got, want)
	// Stopped during the silence, the codec's last frames follow the ones
	// that did without it.
	end := toneBlocks + quietBlocks/2
	g, _ := encodeBlocks(t, blocks[:end], silentAfter)
	w, _ := encodeBlocks(t, blocks[:end], math.MaxInt)
	samePTS(t, g, w)

	cfg := newTestConfig(t)
	dg := testpeer.Left(testpeer.DecodeAAC(t, cfg, data(got)))
	dw := testpeer.Left(testpeer.DecodeAAC(t, cfg, data(want)))
	if len(dg) != len(dw) || len(dg) < len(blocks)*FrameSamples {
		t.Fatalf("decoded %d and %d samples, want %d each", len(dg), len(dw), len(blocks)*FrameSamples)
	}
	var diff, sig float64
	for i := range dg {
		d := float64(dg[i] - dw[i])
		diff += d * d
		sig += float64(dw[i]) * float64(dw[i])
	}
	if snr := 10 * math.Log10(sig/max(diff, 1e-20)); snr < 40 {
		t.Errorf("the decoded sound differs from the codec's own by %.1f dB of signal to difference, want at least 40", snr)
	}
	// The middle of the silence is silent, and the tone after it is back
	// at its level.
	from, to := (toneBlocks+8)*FrameSamples, (toneBlocks+quietBlocks-8)*FrameSamples
	for i := from; i < to; i++ {
		if math.Abs(float64(dg[i])) > 1e-4 {
			t.Fatalf("sample %d of the silence decodes to %.5f", i, dg[i])
		}
	}
	after := (toneBlocks + quietBlocks + 8) * FrameSamples
	level := testpeer.ToneLevel(float64s(dg[after:after+16*FrameSamples]), freq)
	if want := 20 * math.Log10(amp); math.Abs(level-want) > 1 {
		t.Errorf("the tone after the silence decodes at %.1f dBFS, want %.1f", level, want)
	}
}

// samePTS fails unless got and want are frames at the same times.
func samePTS(t *testing.T, got, want []AccessUnit) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d frames, the codec alone makes %d", len(got), len(want))
	}
	for i := range got {
		if got[i].PTS != want[i].PTS {
			t.Fatalf("frame %d at %v, the codec alone puts it at %v", i, got[i].PTS, want[i].PTS)
		}
	}
}

// encodeBlocks encodes blocks with the shortcut after silentAfter silent
// blocks, and returns every frame (the codec's last ones too) and how many
// blocks did without the codec.
func encodeBlocks(t *testing.T, blocks []Block, silentAfter int) ([]AccessUnit, uint64) {
	t.Helper()
	enc, err := NewAACEncoder(0)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	enc.silentAfter = silentAfter
	var out []AccessUnit
	for _, b := range blocks {
		aus, err := enc.Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, aus...)
	}
	rest, err := enc.Flush()
	if err != nil {
		t.Fatal(err)
	}
	return append(out, rest...), uint64(enc.shift / FrameSamples)
}

func newTestConfig(t *testing.T) *mpeg4audio.AudioSpecificConfig {
	t.Helper()
	enc, err := NewAACEncoder(0)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	cfg := enc.Config()
	return &cfg
}

func data(aus []AccessUnit) [][]byte {
	out := make([][]byte, len(aus))
	for i, au := range aus {
		out[i] = au.Data
	}
	return out
}

func float64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
