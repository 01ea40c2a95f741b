package audio

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/capture"
)

// sine is an input playing a steady sine of peak amp at freq Hz.
type sine struct{ amp, freq float64 }

func (s sine) Read(dst []float32, pts time.Duration) {
	n0 := SampleAt(pts)
	for i := 0; i < len(dst)/2; i++ {
		v := float32(s.amp * math.Sin(2*math.Pi*s.freq*float64(n0+int64(i))/SampleRate))
		dst[2*i], dst[2*i+1] = v, v
	}
}
func (sine) Status() Status      { return Status{Live: true} }
func (sine) Close() error        { return nil }
func (sine) String() string      { return "sine" }
func dbToAmp(db float64) float64 { return math.Pow(10, db/20) }

// mixBlocks mixes n blocks from time 0 on, as Run does.
func mixBlocks(m *Mixer, n int64) (out []float32) {
	for k := int64(0); k < n; k++ {
		b := make([]float32, Channels*FrameSamples)
		m.Mix(SampleTime(k*FrameSamples), b)
		out = append(out, b...)
	}
	return out
}

func TestMetersReadAKnownTone(t *testing.T) {
	var got []Levels
	m := NewMixer(NewClock(), MixerOptions{OnLevels: func(l Levels) { got = append(got, l) }})
	if err := m.Add("tone", sine{amp: dbToAmp(-12), freq: 1000}); err != nil {
		t.Fatal(err)
	}
	const blocks = 96 // 2.048 s, a whole number of meter windows
	mixBlocks(m, blocks)
	if per := float64(len(got)) / SampleTime(blocks*FrameSamples).Seconds(); per < 10 {
		t.Errorf("levels came %.1f times per second of audio, want at least 10", per)
	}
	for _, l := range got {
		for ch := range Channels {
			if math.Abs(l.Peak[ch]-(-12)) > 0.5 || math.Abs(l.RMS[ch]-(-15.01)) > 0.5 {
				t.Fatalf("channel %d at %v: peak %.2f dBFS, RMS %.2f dBFS; want -12 and -15.01 (±0.5)", ch, l.PTS, l.Peak[ch], l.RMS[ch])
			}
		}
		if l.Clipped != 0 {
			t.Fatalf("a -12 dBFS tone clipped %d samples", l.Clipped)
		}
	}

	// Full scale and +6 dB: the meter shows the overshoot, the output is cut
	// at full scale, and every cut sample is counted.
	got = nil
	m2 := NewMixer(NewClock(), MixerOptions{OnLevels: func(l Levels) { got = append(got, l) }})
	m2.Add("loud", sine{amp: 1, freq: 1000})
	if err := m2.SetVolume("loud", 6); err != nil {
		t.Fatal(err)
	}
	out := mixBlocks(m2, 48)
	want := int64(0)
	ref := make([]float32, len(out))
	sine{amp: 1, freq: 1000}.Read(ref, 0)
	for i, v := range ref {
		if math.Abs(float64(gain(6)*v)) > 1 {
			want++
		}
		if math.Abs(float64(out[i])) > 1 {
			t.Fatalf("sample %d is %v, beyond full scale", i, out[i])
		}
	}
	if m2.Clipped() != want || got[len(got)-1].Clipped != want {
		t.Errorf("clipped %d (levels say %d), want %d", m2.Clipped(), got[len(got)-1].Clipped, want)
	}
	if p := got[0].Peak[0]; math.Abs(p-6) > 0.5 {
		t.Errorf("peak of a full-scale tone at +6 dB reads %.2f dBFS, want 6", p)
	}
}

func TestMixerSettingsAreChecked(t *testing.T) {
	m := NewMixer(NewClock(), MixerOptions{})
	m.Add("mic", sine{amp: 0.5, freq: 1000})
	for _, err := range []error{m.SetVolume("mic", math.NaN()), m.SetVolume("mic", 21), m.SetMasterVolume(-61)} {
		if err == nil || !strings.Contains(err.Error(), "from -60 to +20") {
			t.Errorf("got %v, want a refusal naming the range", err)
		}
	}
	if err := m.SetOffset("mic", 2500*time.Millisecond); err == nil || !strings.Contains(err.Error(), "-2000 to 2000 ms") {
		t.Errorf("offset 2500 ms: got %v", err)
	}
	if err := m.SetMute("desk", true); err == nil || !strings.Contains(err.Error(), "sources: mic") {
		t.Errorf("unknown source: got %v, want the list of sources", err)
	}
	if err := m.Add("mic", sine{}); err == nil {
		t.Error("a second source named mic was accepted")
	}
}

func TestSyncOffsetDelaysTheSource(t *testing.T) {
	// A source delayed by 250 ms plays at 1.25 s what it had at 1 s.
	m := NewMixer(NewClock(), MixerOptions{})
	m.Add("tone", sine{amp: 0.5, freq: 440})
	if err := m.SetOffset("tone", 250*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, Channels*FrameSamples)
	want := make([]float32, Channels*FrameSamples)
	m.Mix(SampleTime(60000), got)
	sine{amp: 0.5, freq: 440}.Read(want, SampleTime(60000-12000))
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("sample %d: %v, want %v", i, got[i], want[i])
		}
	}
	if l := m.latency(); l != DefaultLatency {
		t.Errorf("a delayed source changed the latency to %v", l)
	}
	m.SetOffset("tone", -300*time.Millisecond)
	if l := m.latency(); l != DefaultLatency+300*time.Millisecond {
		t.Errorf("a source 300 ms early gives latency %v, want %v", l, DefaultLatency+300*time.Millisecond)
	}
}

// The tone beeps exactly while the test pattern flashes (capture.Flash of
// the same capture-clock instant): from the first sample at each whole
// second of wall time, for capture.FlashLength.
func TestToneBeepsWhenThePatternFlashes(t *testing.T) {
	clock := Clock{Start: time.Date(2025, 3, 4, 12, 0, 0, 337_000_000, time.UTC)}
	ins, _, err := Open("tone:1000", clock, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const seconds = 3
	buf := make([]float32, Channels*SampleRate*seconds)
	ins[0].Read(buf, 0)
	beeping := func(n int) bool {
		// The tone's level from its sample and the pure sine's phase.
		s := math.Sin(2 * math.Pi * 1000 * float64(n) / SampleRate)
		return math.Abs(float64(buf[2*n])/s) > (toneAmp+beepAmp)/2
	}
	var onsets []time.Time
	for n := 1; n < len(buf)/2; n++ {
		at := clock.At(SampleTime(int64(n)))
		if capture.Flash(at) && !capture.Flash(clock.At(SampleTime(int64(n-1)))) {
			onsets = append(onsets, at)
		}
		if math.Abs(math.Sin(2*math.Pi*1000*float64(n)/SampleRate)) < 0.2 {
			continue // too near a zero crossing to read the level
		}
		if beeping(n) != capture.Flash(at) {
			t.Fatalf("sample %d at %s: beeping %v, pattern flash %v", n, at.Format("15:04:05.000000"), beeping(n), capture.Flash(at))
		}
	}
	if len(onsets) != seconds {
		t.Fatalf("%d beeps in %d s", len(onsets), seconds)
	}
	for _, at := range onsets {
		if d := at.Sub(at.Truncate(time.Second)); d >= time.Second/SampleRate {
			t.Errorf("a beep starts %v after the whole second", d)
		}
	}
}

// A filter on a source changes only that source's block, before its
// volume; a muted source is not filtered.
func TestFilterChangesOneSourceBeforeItsVolume(t *testing.T) {
	var seen []string
	m := NewMixer(NewClock(), MixerOptions{Filter: func(source string, block []float32) {
		seen = append(seen, source)
		if source == "mic" {
			clear(block)
		}
	}})
	if err := m.Add("mic", sine{amp: 0.5, freq: 1000}); err != nil {
		t.Fatal(err)
	}
	if err := m.Add("desktop", sine{amp: 0.25, freq: 1000}); err != nil {
		t.Fatal(err)
	}
	if err := m.Add("muted", sine{amp: 0.25, freq: 1000}); err != nil {
		t.Fatal(err)
	}
	m.SetMute("muted", true)
	m.SetVolume("desktop", -6.0206) // half
	out := mixBlocks(m, 1)
	peak := 0.0
	for _, v := range out {
		peak = max(peak, math.Abs(float64(v)))
	}
	if math.Abs(peak-0.125) > 0.002 {
		t.Errorf("the mix peaks at %.3f, want 0.125: the desktop alone at half volume, the microphone filtered out", peak)
	}
	if strings.Join(seen, ",") != "mic,desktop" {
		t.Errorf("filtered %v, want mic then desktop and never the muted source", seen)
	}
}
