package audio

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/onair-studio/onair/internal/testpeer"
)

// openOne opens a source string that names one input.
func openOne(t *testing.T, spec string, clock Clock, o Options) Input {
	t.Helper()
	ins, _, err := Open(spec, clock, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ins[0].Close() })
	return ins[0]
}

func awaitLive(t *testing.T, in Input, want bool, within time.Duration) {
	t.Helper()
	testpeer.Await(t, within, "source "+in.String()+" live="+map[bool]string{true: "yes", false: "no"}[want], func() bool {
		return in.Status().Live == want
	})
}

// A 1 kHz tone played into the studio sink at -12 dBFS, captured from its
// monitor, mixed, encoded to AAC and decoded by ffmpeg, keeps its level at
// 0 dB, drops 6 dB at -6 dB, and is gone when muted.
func TestToneLevelThroughAAC(t *testing.T) {
	pulse := testpeer.StartPulse(t)
	pulse.Play(t, testpeer.ToneS16(1000, -12))
	clock := NewClock()
	desk := openOne(t, "pulse:studio.monitor", clock, Options{Server: pulse.Server})
	awaitLive(t, desk, true, 10*time.Second)

	m := NewMixer(clock, MixerOptions{})
	m.Add("desk", desk)
	enc, err := NewAACEncoder(0)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if c := enc.Config(); c.Type != mpeg4audio.ObjectTypeAACLC || c.SampleRate != SampleRate || c.ChannelCount != 2 || enc.BitrateKbps() != 160 {
		t.Fatalf("config %+v at %d kbit/s, want AAC-LC 48 kHz stereo at 160", c, enc.BitrateKbps())
	}

	// Settings change between blocks, on the mixer's goroutine: a phase
	// is exactly its blocks.
	const warm, phase = 24, 64 // 0.5 s, then 1.37 s per phase
	var aus []AccessUnit
	var phaseStart [4]time.Duration
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	blocks := 0
	var encErr error
	go func() {
		defer close(done)
		m.Run(ctx, func(b Block) {
			got, err := enc.Encode(b)
			aus = append(aus, got...)
			if err != nil && encErr == nil {
				encErr = err
			}
			blocks++
			switch blocks {
			case warm:
				phaseStart[0] = b.PTS + SampleTime(FrameSamples)
			case warm + phase:
				m.SetVolume("desk", -6)
				phaseStart[1] = b.PTS + SampleTime(FrameSamples)
			case warm + 2*phase:
				m.SetMute("desk", true)
				phaseStart[2] = b.PTS + SampleTime(FrameSamples)
			case warm + 3*phase:
				phaseStart[3] = b.PTS + SampleTime(FrameSamples)
				cancel()
			}
		})
	}()
	<-done
	cancel()
	if encErr != nil {
		t.Fatal(encErr)
	}
	more, err := enc.Flush()
	if err != nil {
		t.Fatal(err)
	}
	aus = append(aus, more...)
	pcm := testpeer.Left(decodeAAC(t, enc.Config(), aus))

	level := func(p int) float64 {
		// The middle of the phase: 100 ms clear of each change.
		from := SampleAt(phaseStart[p]-aus[0].PTS) + SampleRate/10
		to := SampleAt(phaseStart[p+1]-aus[0].PTS) - SampleRate/10
		return testpeer.GoertzelDB(pcm[from:to], 1000, SampleRate)
	}
	at0, at6, muted := level(0), level(1), level(2)
	t.Logf("played -12 dBFS; decoded %.2f dBFS at 0 dB, %.2f at -6 dB, %.2f muted", at0, at6, muted)
	if math.Abs(at0-(-12)) > 1 {
		t.Errorf("at 0 dB the tone decodes at %.2f dBFS, want -12 ± 1", at0)
	}
	if d := at0 - at6; math.Abs(d-6) > 0.5 {
		t.Errorf("-6 dB lowered the tone by %.2f dB, want 6 ± 0.5", d)
	}
	if muted > -60 {
		t.Errorf("muted, the tone decodes at %.2f dBFS, want under -60", muted)
	}
}

func TestUnknownDeviceRefusedWithTheList(t *testing.T) {
	pulse := testpeer.StartPulse(t)
	_, _, err := Open("pulse:usb-mic", NewClock(), Options{Server: pulse.Server})
	if err == nil || !strings.Contains(err.Error(), `no device named "usb-mic"`) || !strings.Contains(err.Error(), "studio.monitor (Monitor of Null Output)") {
		t.Fatalf("got %v, want a refusal listing studio.monitor", err)
	}
	list, err := Devices(Options{Server: pulse.Server})
	if err != nil || len(list) != 1 || list[0].Name != "studio.monitor" {
		t.Fatalf("devices %+v, %v; want studio.monitor", list, err)
	}
}

// Auto takes the desktop sound and no microphone when the only input is a
// monitor, and silence with the reason when no audio server answers.
func TestAutoSaysWhatItTookAndWhy(t *testing.T) {
	pulse := testpeer.StartPulse(t)
	ins, why, err := Open(SourceAuto, NewClock(), Options{Server: pulse.Server})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		defer in.Close()
	}
	if len(ins) != 1 || ins[0].String() != SourceDesktop || !strings.Contains(why, "no microphone (the default input studio.monitor is a monitor)") {
		t.Errorf("auto took %v: %q", ins, why)
	}
	ins, why, err = Open(SourceAuto, NewClock(), Options{Server: "unix:" + filepath.Join(t.TempDir(), "none")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 || ins[0].String() != SourceNone || !strings.HasPrefix(why, "silence: no audio server answers") || ins[0].Status().Reason != why {
		t.Errorf("auto without a server took %v: %q", ins, why)
	}
}

// The audio server killed mid-capture: the source turns to silence and
// says why while the mix goes on, block after block on the capture clock;
// restarted, the source is back within 5 s, and so is its sound.
func TestServerKilledThenBack(t *testing.T) {
	pulse := testpeer.StartPulse(t)
	pulse.Play(t, testpeer.ToneS16(1000, -12))
	clock := NewClock()
	desk := openOne(t, SourceDesktop, clock, Options{Server: pulse.Server})
	awaitLive(t, desk, true, 10*time.Second)

	var mu sync.Mutex
	var blocks []Block
	m := NewMixer(clock, MixerOptions{})
	m.Add("desk", desk)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx, func(b Block) {
			mu.Lock()
			blocks = append(blocks, b)
			mu.Unlock()
		})
	}()
	defer func() { cancel(); <-done }()
	last := func() Block {
		mu.Lock()
		defer mu.Unlock()
		if len(blocks) == 0 {
			return Block{PTS: -1}
		}
		return blocks[len(blocks)-1]
	}
	loud := func() bool {
		b := last()
		return b.PTS >= 0 && testpeer.GoertzelDB(testpeer.Left(b.Samples), 1000, SampleRate) > -14
	}
	testpeer.Await(t, 5*time.Second, "the tone in the mix", loud)

	pulse.Kill(t)
	awaitLive(t, desk, false, 5*time.Second)
	if r := desk.Status().Reason; !strings.Contains(r, "silent") {
		t.Errorf("reason %q does not say the source is silent", r)
	}
	killedAt := last().PTS
	testpeer.Await(t, 5*time.Second, "a silent block after the kill", func() bool {
		b := last()
		return b.PTS > killedAt && testpeer.GoertzelDB(testpeer.Left(b.Samples), 1000, SampleRate) < -100
	})

	pulse.Start(t)
	pulse.Play(t, testpeer.ToneS16(1000, -12))
	back := time.Now()
	awaitLive(t, desk, true, 5*time.Second)
	t.Logf("back %v after the server answered", time.Since(back).Round(time.Millisecond))
	testpeer.Await(t, 5*time.Second, "the tone back in the mix", loud)

	// No block missing or out of place, through it all.
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(blocks); i++ {
		if want := blocks[i-1].PTS + SampleTime(FrameSamples); blocks[i].PTS-want > time.Microsecond || want-blocks[i].PTS > time.Microsecond {
			t.Fatalf("block %d at %v follows one at %v", i, blocks[i].PTS, blocks[i-1].PTS)
		}
	}
	if lag := clock.Since() - blocks[len(blocks)-1].PTS; lag > time.Second {
		t.Errorf("the mix runs %v behind the capture clock", lag)
	}
}

// decodeAAC has ffmpeg decode the encoder's access units; sample i of the
// result plays at aus[0].PTS + i/48000.
func decodeAAC(t *testing.T, cfg mpeg4audio.AudioSpecificConfig, aus []AccessUnit) []float32 {
	t.Helper()
	raw := make([][]byte, len(aus))
	for i, au := range aus {
		raw[i] = au.Data
	}
	return testpeer.DecodeAAC(t, &cfg, raw)
}
