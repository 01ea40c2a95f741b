package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/encoder"
	"github.com/onair-studio/onair/internal/testpeer"
)

// The noise gate's tests play, into a private audio server, a loop of one
// second of quiet noise (hiss under the gate's threshold) and one second of
// a loud 1 kHz tone over the same noise (a voice), and listen as a viewer
// behind nginx does.
const (
	hissDBFS  = -50.0 // the noise's peak
	burstDBFS = -12.0 // the tone's peak
	gateYAML  = `  - {name: gate, binary: noisegate, layer: "sound:desktop", params: {threshold: "-30", attack: "5", release: "50"}}` + "\n"
)

// hissAndBursts is the loop, raw s16le 48 kHz stereo.
func hissAndBursts() []byte {
	r := rand.New(rand.NewSource(1))
	hiss, tone := math.Pow(10, hissDBFS/20), math.Pow(10, burstDBFS/20)
	b := make([]byte, 2*testpeer.AudioRate*4)
	for i := range 2 * testpeer.AudioRate {
		v := hiss * (2*r.Float64() - 1)
		if i >= testpeer.AudioRate {
			v += tone * math.Sin(2*math.Pi*1000*float64(i)/testpeer.AudioRate)
		}
		s := uint16(int16(math.Round(v * 32767)))
		binary.LittleEndian.PutUint16(b[4*i:], s)
		binary.LittleEndian.PutUint16(b[4*i+2:], s)
	}
	return b
}

// gateMaster streams the desktop sound of pulse and the test pattern to
// nginx at url, with the filters (YAML list items) given.
func gateMaster(t *testing.T, pulse *testpeer.Pulse, url, filters string) *testpeer.Master {
	t.Helper()
	body := fmt.Sprintf("plugins:\n  dir: %s\naudio:\n  sources:\n    - {source: desktop}\n", filepath.Join(binDir, "plugins"))
	if filters != "" {
		body += "filters:\n" + filters
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, []string{encoder.PulseServerEnv + "=" + pulse.Server}, "-config", cfg, "-children", "all",
		"-source", "pattern", "-width", "320", "-height", "180", "-dest", url, "-live")
	liveAt(m)
	return m
}

// heard is what a viewer heard of the loop: the level (RMS, dBFS) of its
// quiet tenths of a second, their median, and of its loud ones, their
// count and the tone's level in them (the median).
type heard struct {
	quietDB   float64
	loud      int
	loudTone  float64
	windowsDB []float64
}

func listen(t *testing.T, url string) heard {
	t.Helper()
	samples := testpeer.DecodeAudio(t, url, 4.5, "-rw_timeout", "5000000")
	const win = testpeer.AudioRate / 10
	var h heard
	var quiet, tone []float64
	for i := testpeer.AudioRate / 2; i+win <= len(samples); i += win { // past the decoder's start
		w := samples[i : i+win]
		sum := 0.0
		for _, v := range w {
			sum += v * v
		}
		db := 10 * math.Log10(max(sum/float64(len(w)), 1e-14))
		h.windowsDB = append(h.windowsDB, math.Round(db))
		if db > -30 {
			tone = append(tone, testpeer.ToneLevel(w, 1000)) // a whole number of cycles
			h.loud++
		} else {
			quiet = append(quiet, db)
		}
	}
	if len(quiet) == 0 || h.loud == 0 {
		t.Fatalf("the viewer heard %d quiet and %d loud tenths of a second (levels %v): not the loop played", len(quiet), h.loud, h.windowsDB)
	}
	slices.Sort(quiet)
	slices.Sort(tone)
	h.quietDB, h.loudTone = quiet[len(quiet)/2], tone[len(tone)/2]
	return h
}

// A noise gate on the desktop sound: the viewer hears the quiet parts far
// below their level without it, and the loud tone bursts as loud as
// without it, for about as long.
func TestNoisegateAtViewer(t *testing.T) {
	t.Parallel()
	pulse, nginx := testpeer.StartPulse(t), testpeer.StartNginx(t, testpeer.NginxOptions{})
	pulse.Play(t, hissAndBursts())
	gated := gateMaster(t, pulse, nginx.URL("live", "gated"), gateYAML)
	gateMaster(t, pulse, nginx.URL("live", "control"), "") // the control: no gate
	gated.Await("the gate attached and filtering", 20*time.Second, func() bool {
		f := filterStatus(gated.Status(), "gate")
		return f.GetAttached() && f.GetFiltered() > 50
	})
	with, without := listen(t, nginx.URL("live", "gated")), listen(t, nginx.URL("live", "control"))
	t.Logf("with the gate: quiet %.1f dBFS, %d loud tenths, tone %.1f dBFS (%v)", with.quietDB, with.loud, with.loudTone, with.windowsDB)
	t.Logf("without it: quiet %.1f dBFS, %d loud tenths, tone %.1f dBFS (%v)", without.quietDB, without.loud, without.loudTone, without.windowsDB)
	if without.quietDB < hissDBFS-15 {
		t.Fatalf("without the gate the hiss is at %.1f dBFS: the check cannot tell", without.quietDB)
	}
	if with.quietDB > without.quietDB-30 {
		t.Errorf("with the gate the quiet parts are at %.1f dBFS, want at least 30 dB under %.1f", with.quietDB, without.quietDB)
	}
	if math.Abs(with.loudTone-without.loudTone) > 1 || math.Abs(with.loudTone-burstDBFS) > 1.5 {
		t.Errorf("the bursts' tone is at %.1f dBFS with the gate, %.1f without, want both %.0f", with.loudTone, without.loudTone, burstDBFS)
	}
	if with.loud < without.loud-3 {
		t.Errorf("with the gate %d tenths of a second are loud, without it %d: bursts were cut", with.loud, without.loud)
	}
	if f := filterStatus(gated.Status(), "gate"); f.GetDeadlineUs() != 7111 {
		t.Errorf("the gate's deadline is %d us, want a third of a block (7111)", f.GetDeadlineUs())
	}
}

// SIGKILL of the noise gate's plugin mid-stream: the viewer's sound goes
// on without a gap, blocks play unfiltered while it is away, and the gate
// comes back by itself and gates again.
func TestNoisegateKilled(t *testing.T) {
	t.Parallel()
	pulse, nginx := testpeer.StartPulse(t), testpeer.StartNginx(t, testpeer.NginxOptions{})
	pulse.Play(t, hissAndBursts())
	url := nginx.URL("live", "onair")
	m := gateMaster(t, pulse, url, gateYAML)
	m.Await("the gate attached and filtering", 20*time.Second, func() bool {
		f := filterStatus(m.Status(), "gate")
		return f.GetAttached() && f.GetFiltered() > 50
	})
	v := startViewer(t, url, 6*time.Second)
	m.Await("the viewer receiving", 15*time.Second, func() bool { return v.Size() > 20000 })
	st := m.Status()
	before := filterStatus(st, "gate")
	pid := pluginState(st, "gate").GetPid()
	if pid == 0 {
		t.Fatal("no pid for the gate's plugin")
	}
	if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	m.Await("the gate back", 15*time.Second, func() bool {
		f := filterStatus(m.Status(), "gate")
		return f.GetAttached() && f.GetAttaches() > before.GetAttaches() && f.GetFiltered() > before.GetFiltered()+50
	})
	after := filterStatus(m.Status(), "gate")
	away := after.GetBypassed() - before.GetBypassed()
	t.Logf("blocks played unfiltered while the gate was away: %d (%v)", away, time.Duration(away)*testpeer.AACFrameDuration)
	if away == 0 {
		t.Error("no block played unfiltered: was the plugin killed?")
	}
	if p := pluginState(m.Status(), "gate"); p.GetPid() == pid || p.GetRestarts() < 1 {
		t.Errorf("the gate's plugin was not restarted: %v", p)
	}
	v.Wait(t, 40*time.Second)
	if gap := longestAudioGap(t, v.File); gap >= testpeer.AACFrameDuration {
		t.Errorf("the viewer's sound has a gap of %v across the plugin's kill, want none", gap)
	}
	h := listen(t, url)
	t.Logf("after the restart: quiet %.1f dBFS, %d loud tenths (%v)", h.quietDB, h.loud, h.windowsDB)
	if h.quietDB > hissDBFS-30 {
		t.Errorf("after the restart the quiet parts are at %.1f dBFS: not gated again", h.quietDB)
	}
	if n := nginx.Publishes("onair"); n != 1 {
		t.Errorf("nginx saw %d publish sessions, want exactly 1", n)
	}
}
