package encoder

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/onair-studio/onair/internal/capture"
	"github.com/onair-studio/onair/internal/codec"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

const rate = 48000

// patternConfig is a small test pattern program with the given sound.
func patternConfig(url string, fps int32, a *pb.AudioSettings) *pb.EncoderConfig {
	return &pb.EncoderConfig{Revision: 1, Source: "pattern", Width: 320, Height: 180, Fps: fps, BitrateKbps: 500,
		KeyframeSeconds: 1, Backend: codec.BackendX264, Preset: "ultrafast", ReturnUrl: url, Audio: a}
}

// configure applies cfg and stops the pipeline when the test ends.
func configure(t *testing.T, s *Service, cfg *pb.EncoderConfig) *pb.EncoderStatus {
	t.Helper()
	st, err := s.Configure(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Configure(context.Background(), &pb.EncoderConfig{}) })
	return st
}

func statusOf(s *Service) *pb.EncoderStatus {
	st, _ := s.Status(context.Background(), nil)
	return st
}

// The desktop sound (a 1 kHz tone played into the default output) reaches
// an independent RTSP server, FFmpeg, beside the picture: the recording has
// an H.264 and an AAC-LC 48 kHz stereo stream, and the tone plays at the
// level it was played at.
func TestDesktopSoundReachesFFmpeg(t *testing.T) {
	pulse := testpeer.StartPulse(t)
	t.Setenv(PulseServerEnv, pulse.Server)
	pulse.Play(t, testpeer.ToneS16(1000, -12))
	peer := testpeer.StartFFmpegRTSP(t, "program")
	s := New()
	configure(t, s, patternConfig(peer.URL, 30, &pb.AudioSettings{Sources: []*pb.AudioSource{{Source: "desktop"}}}))
	testpeer.Await(t, 20*time.Second, "3 s of sound published", func() bool {
		a := statusOf(s).GetAudio()
		return len(a.GetStrips()) == 1 && a.GetStrips()[0].GetLive() && a.GetEncodedFrames() > 3*rate/1024+20
	})
	s.Configure(context.Background(), &pb.EncoderConfig{}) // ends the session: ffmpeg closes its file
	if err := peer.Wait(20 * time.Second); err != nil {
		t.Fatalf("ffmpeg did not end with the session: %v\n%s", err, peer.Output())
	}

	streams := testpeer.ProbeStreams(t, peer.File)
	var video, sound bool
	for _, st := range streams {
		video = video || st.Type == "video" && st.Codec == "h264"
		sound = sound || st.Type == "audio" && st.Codec == "aac" && st.Profile == "LC" && st.SampleRate == rate && st.Channels == 2
	}
	if !video || !sound {
		t.Fatalf("recorded streams %+v, want H.264 and AAC-LC 48 kHz stereo", streams)
	}
	pcm := testpeer.Left(testpeer.DecodeAudioPCM(t, peer.File))
	// The last 1.5 s, clear of the capture's start.
	level := testpeer.GoertzelDB(pcm[len(pcm)-3*rate/2:len(pcm)-rate/10], 1000, rate)
	t.Logf("played -12 dBFS, recorded %.2f dBFS", level)
	if math.Abs(level+12) > 1 {
		t.Errorf("the tone records at %.2f dBFS, want -12 ± 1", level)
	}
}

// ptsOf is an RTP timestamp at clock rate hz as a duration (the tests run
// far shorter than the 32-bit wrap).
func ptsOf(ts uint32, hz int) time.Duration {
	return time.Duration(ts) * time.Second / time.Duration(hz)
}

// Volume, mute and a source added (an unknown device among them) change
// while the program streams, without a new session or a pause in the
// picture: -6 dB lowers the tone by 6 dB, muted it is gone, and the unknown
// device is refused in status with the devices that exist while the tone
// plays on.
func TestAudioSettingsChangeLive(t *testing.T) {
	pulse := testpeer.StartPulse(t)
	t.Setenv(PulseServerEnv, pulse.Server)
	pulse.Play(t, testpeer.ToneS16(1000, -12))
	rec := testpeer.StartRTSPRecorder(t, "program")
	s := New()
	desk := &pb.AudioSource{Source: "desktop"}
	cfg := patternConfig(rec.URL, 30, &pb.AudioSettings{Sources: []*pb.AudioSource{desk}})
	configure(t, s, cfg)
	testpeer.Await(t, 20*time.Second, "the desktop sound live and published", func() bool {
		a := statusOf(s).GetAudio()
		aus, _ := rec.Audio()
		return len(a.GetStrips()) == 1 && a.GetStrips()[0].GetLive() && len(aus) > 0
	})
	s.mu.Lock()
	pipe := s.pipe
	start := pipe.audio.clock.Start
	s.mu.Unlock()

	// Each phase is 2 s of published sound; a change takes effect
	// between the capture-clock times around it (the mix runs behind).
	type phase struct{ from, to time.Duration }
	var phases []phase
	published := func(until time.Duration) func() bool {
		return func() bool {
			aus, _ := rec.Audio()
			return len(aus) > 0 && ptsOf(aus[len(aus)-1].Timestamp, rate) >= until
		}
	}
	from := time.Since(start)
	step := func(change func()) {
		testpeer.Await(t, 10*time.Second, "2 s of sound published", published(from+2*time.Second))
		to := time.Since(start)
		change()
		phases = append(phases, phase{from, to})
		from = time.Since(start)
	}
	apply := func() {
		cfg.Revision++
		if _, err := s.Configure(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	step(func() { desk.VolumeDb = -6; apply() })
	step(func() { desk.Muted = true; apply() })
	step(func() {
		desk.Muted, desk.VolumeDb = false, 0
		cfg.Audio.Sources = append(cfg.Audio.Sources, &pb.AudioSource{Source: "pulse:usb-mic"})
		apply()
	})
	st := statusOf(s)
	if e := st.GetAudio().GetError(); !strings.Contains(e, `no device named "usb-mic"`) || !strings.Contains(e, "studio.monitor") {
		t.Errorf("status audio error %q, want the unknown device refused with the list", e)
	}
	if strips := st.GetAudio().GetStrips(); len(strips) != 1 || strips[0].GetName() != "desktop" {
		t.Errorf("strips %v, want the desktop sound kept", strips)
	}
	framesAt := st.GetEncodedFrames()
	testpeer.Await(t, 10*time.Second, "video frames after the refusal", func() bool { return statusOf(s).GetEncodedFrames() > framesAt+30 })
	step(func() {})
	s.mu.Lock()
	same := s.pipe == pipe
	s.mu.Unlock()
	if !same {
		t.Fatal("an audio change restarted the pipeline")
	}

	aus, aac := rec.Audio()
	pcm := testpeer.Left(decodeADTS(t, aac, aus))
	first := ptsOf(aus[0].Timestamp, rate)
	level := func(p phase) float64 {
		// Clear of the changes around it: the mix runs 100 ms behind the
		// capture clock, so a change reaches samples up to then before the
		// call returned; after it, the mixer takes the change at its next
		// batch, later on a loaded machine.
		from, to := int((p.from+700*time.Millisecond-first)*rate/time.Second), int((p.to-300*time.Millisecond-first)*rate/time.Second)
		return testpeer.GoertzelDB(pcm[max(from, 0):min(to, len(pcm))], 1000, rate)
	}
	at0, at6, muted, back := level(phases[0]), level(phases[1]), level(phases[2]), level(phases[3])
	t.Logf("played -12 dBFS; received %.2f at 0 dB, %.2f at -6 dB, %.2f muted, %.2f back at 0 dB", at0, at6, muted, back)
	if math.Abs(at0+12) > 1 || math.Abs(back+12) > 1 {
		t.Errorf("at 0 dB the tone arrives at %.2f then %.2f dBFS, want -12 ± 1", at0, back)
	}
	if d := at0 - at6; math.Abs(d-6) > 0.5 {
		t.Errorf("-6 dB lowered the tone by %.2f dB, want 6 ± 0.5", d)
	}
	if muted > -60 {
		t.Errorf("muted, the tone arrives at %.2f dBFS, want under -60", muted)
	}
	// One session throughout: timestamps never went back.
	for i := 1; i < len(aus); i++ {
		if aus[i].Timestamp-aus[i-1].Timestamp != 1024 {
			t.Fatalf("audio frame %d at %d follows %d: want contiguous 1024-sample frames", i, aus[i].Timestamp, aus[i-1].Timestamp)
		}
	}
}

// onsets are the times at which on(i) turns true after being false for at
// least gap.
func onsets(n int, gap time.Duration, on func(i int) bool, at func(i int) time.Duration) []time.Duration {
	var out []time.Duration
	for _, i := range testpeer.Onsets(n, gap, on, at) {
		out = append(out, at(i))
	}
	return out
}

// The picture and the sound stay in sync end to end: the test pattern's
// flash and the test tone's beep, captured at the same instants, arrive on
// the return path with RTP timestamps at most 20 ms apart (95th percentile
// over at least 10 flashes), read from the decoded pictures and sound.
func TestPictureAndSoundInSync(t *testing.T) {
	rec := testpeer.StartRTSPRecorder(t, "program")
	s := New()
	const fps = 60
	configure(t, s, patternConfig(rec.URL, fps, &pb.AudioSettings{Sources: []*pb.AudioSource{{Source: "tone:1000"}}}))
	testpeer.Await(t, 40*time.Second, "12 s of picture and sound", func() bool {
		aus, _ := rec.Audio()
		return len(rec.Video()) > 12*fps && len(aus) > 12*rate/1024
	})
	s.Configure(context.Background(), &pb.EncoderConfig{})
	video := rec.Video()
	aus, aac := rec.Audio()

	// Pictures: the flash block's middle, decoded as grey.
	const w, h = 320, 180
	var annexB []byte
	for _, u := range video {
		b, err := h264.AnnexB(u.NALUs).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		annexB = append(annexB, b...)
	}
	file := filepath.Join(t.TempDir(), "picture.h264")
	if err := os.WriteFile(file, annexB, 0o600); err != nil {
		t.Fatal(err)
	}
	grey, err := exec.Command("ffmpeg", "-v", "error", "-f", "h264", "-i", file, "-f", "rawvideo", "-pix_fmt", "gray", "-").Output()
	if err != nil || len(grey) != w*h*len(video) {
		t.Fatalf("decoding the pictures: %v (%d bytes for %d pictures)", err, len(grey), len(video))
	}
	r := capture.PatternFlashRect(w, h)
	cx, cy := (r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2
	at := func(i int) time.Duration { return ptsOf(video[i].Timestamp, 90000) }
	// A flash's onset is known to a frame only when the picture before it
	// was not skipped; a loaded machine may skip one, and the flash then
	// seems to start late although picture and sound were captured alike.
	var flashes []time.Duration
	for _, i := range testpeer.Onsets(len(video), 300*time.Millisecond, func(i int) bool { return grey[i*w*h+cy*w+cx] > 200 }, at) {
		if i > 0 && at(i)-at(i-1) < 3*time.Second/(2*fps) {
			flashes = append(flashes, at(i))
		}
	}

	// Sound: 1 ms windows, loud (the beep at -6 dBFS, against the tone at
	// -20) when the RMS passes halfway between the two.
	pcm := testpeer.Left(decodeADTS(t, aac, aus))
	first := ptsOf(aus[0].Timestamp, rate)
	const win = rate / 1000
	threshold := (math.Pow(10, -6.0/20) + math.Pow(10, -20.0/20)) / 2 / math.Sqrt2
	beeps := onsets(len(pcm)/win, 300*time.Millisecond,
		func(i int) bool {
			var sum float64
			for _, v := range pcm[i*win : (i+1)*win] {
				sum += float64(v) * float64(v)
			}
			return math.Sqrt(sum/win) > threshold
		},
		func(i int) time.Duration { return first + time.Duration(i)*time.Millisecond })

	var offsets []time.Duration
	for _, b := range beeps {
		for _, f := range flashes {
			if d := f - b; d.Abs() < 400*time.Millisecond {
				offsets = append(offsets, d)
			}
		}
	}
	if len(offsets) < 10 {
		t.Fatalf("%d flashes matched a beep (flashes %v, beeps %v), want at least 10", len(offsets), flashes, beeps)
	}
	abs := make([]time.Duration, len(offsets))
	for i, d := range offsets {
		abs[i] = d.Abs()
	}
	sort.Slice(abs, func(i, j int) bool { return abs[i] < abs[j] })
	p95 := abs[(len(abs)*95+99)/100-1]
	t.Logf("A/V offsets (picture minus sound) over %d flashes: %v; p95 |offset| %v, max %v", len(offsets), offsets, p95, abs[len(abs)-1])
	if p95 > 20*time.Millisecond {
		t.Errorf("p95 A/V offset %v, want at most 20 ms", p95)
	}
}

// The audio server killed mid-stream costs the picture nothing: frames
// keep being encoded at the frame rate while the source is silent and says
// why, and the sound is back within 5 s of the server's restart. Meters go
// to every watcher meanwhile.
func TestAudioServerKilledPictureGoesOn(t *testing.T) {
	pulse := testpeer.StartPulse(t)
	t.Setenv(PulseServerEnv, pulse.Server)
	pulse.Play(t, testpeer.ToneS16(1000, -12))
	rec := testpeer.StartRTSPRecorder(t, "program")
	s := New()
	const fps = 30
	configure(t, s, patternConfig(rec.URL, fps, &pb.AudioSettings{Sources: []*pb.AudioSource{{Source: "desktop"}}}))
	live := func(want bool) func() bool {
		return func() bool {
			strips := statusOf(s).GetAudio().GetStrips()
			return len(strips) == 1 && strips[0].GetLive() == want
		}
	}
	testpeer.Await(t, 20*time.Second, "the desktop sound live", live(true))

	// Two watchers of the meters; both hear the tone at -15 dBFS RMS.
	for range 2 {
		ch, leave := s.levels.Watch()
		defer leave()
		testpeer.Await(t, 5*time.Second, "the tone on the meters", func() bool {
			select {
			case l := <-ch:
				return len(l.GetRmsDbfs()) == 2 && math.Abs(l.GetRmsDbfs()[0]+15) < 1
			default:
				return false
			}
		})
	}

	before := statusOf(s)
	killed := time.Now()
	pulse.Kill(t)
	testpeer.Await(t, 5*time.Second, "the source silent", live(false))
	if r := statusOf(s).GetAudio().GetStrips()[0].GetReason(); !strings.Contains(r, "silent") {
		t.Errorf("reason %q does not say the source is silent", r)
	}
	silentAt := statusOf(s).GetEncodedFrames()
	testpeer.Await(t, 5*time.Second, "a second of pictures while the sound is down", func() bool {
		return statusOf(s).GetEncodedFrames() >= silentAt+fps
	})
	pulse.Start(t)
	pulse.Play(t, testpeer.ToneS16(1000, -12))
	back := time.Now()
	testpeer.Await(t, 5*time.Second, "the desktop sound back", live(true))
	t.Logf("sound back %v after the server", time.Since(back).Round(time.Millisecond))
	after := statusOf(s)
	elapsed := time.Since(killed)
	encoded := after.GetEncodedFrames() - before.GetEncodedFrames()
	skipped := after.GetSkippedFrames() - before.GetSkippedFrames()
	want := elapsed.Seconds() * fps
	t.Logf("over the outage (%v): %d frames encoded, %d skipped, %.0f due", elapsed.Round(time.Millisecond), encoded, skipped, want)
	if float64(encoded+skipped) < want-2*fps/10 || float64(encoded) < 0.9*want {
		t.Errorf("over %v the picture got %d frames (%d skipped); %.0f were due", elapsed, encoded, skipped, want)
	}
}

// The slate's sound is the program's: AAC-LC, 48 kHz, stereo, and its
// silent frame decodes to silence.
func TestSlateCarriesSilentAAC(t *testing.T) {
	reply, err := New().Slate(context.Background(), &pb.SlateRequest{Width: 160, Height: 90, Fps: 10, KeyframeSeconds: 1, BitrateKbps: 200})
	if err != nil {
		t.Fatal(err)
	}
	var cfg mpeg4audio.AudioSpecificConfig
	if err := cfg.Unmarshal(reply.GetAacConfig()); err != nil || cfg.Type != mpeg4audio.ObjectTypeAACLC || cfg.SampleRate != rate || cfg.ChannelCount != 2 {
		t.Fatalf("slate AAC config %+v (%v), want AAC-LC 48 kHz stereo", cfg, err)
	}
	var aus []testpeer.RTPUnit
	for range 10 {
		aus = append(aus, testpeer.RTPUnit{AU: reply.GetAacSilence()})
	}
	pcm := decodeADTS(t, &cfg, aus)
	if len(pcm) != 2*10*1024 {
		t.Fatalf("10 silent frames decode to %d samples, want %d", len(pcm)/2, 10*1024)
	}
	for i, v := range pcm {
		if v != 0 {
			t.Fatalf("silent frame decodes to %v at sample %d", v, i/2)
		}
	}
}

// BenchmarkAudioCPU is what the sound costs in CPU: the same 640x360 30 fps
// test-pattern program, in this process, without an audio engine, with the
// desktop sound, and with two live devices as a microphone and the desktop
// sound run (a private PulseAudio has no microphone, so the second is
// another null sink's monitor), each captured, resampled, mixed,
// AAC-encoded and published on the return path. The sound is program
// material (pink noise, see testpeer.MusicS16); a last case captures a
// pure tone, the AAC encoder's worst case, for comparison. The cases take turns,
// round after round, so a change in what else the machine does hits all of
// them; a case's cost is the median over rounds of its CPU minus that
// round's without audio. Target: at most 3% of a core.
//
//	go test -run '^$' -bench AudioCPU ./internal/encoder/
func BenchmarkAudioCPU(b *testing.B) {
	const (
		rounds = 3
		span   = 5 * time.Second
	)
	pulse := testpeer.StartPulse(b)
	b.Setenv(PulseServerEnv, pulse.Server)
	pulse.AddSink(b, "mic")
	pulse.AddSink(b, "tone")
	pulse.Play(b, testpeer.MusicS16(b, -18))
	pulse.PlayInto(b, "mic", testpeer.MusicS16(b, -24))
	pulse.PlayInto(b, "tone", testpeer.ToneS16(1000, -12))
	cases := []struct {
		name    string
		sources []string // none: no audio engine at all
	}{
		{"no audio", nil},
		{"desktop", []string{"desktop"}},
		{"mic+desktop", []string{"desktop", "pulse:mic.monitor"}},
		{"tone", []string{"pulse:tone.monitor"}},
	}

	// percent runs one case for span and returns the share of a core this
	// process used.
	percent := func(sources []string) float64 {
		specs := sources
		if specs == nil {
			specs = []string{"desktop"} // opened, then closed before measuring
		}
		a := &pb.AudioSettings{}
		for _, s := range specs {
			a.Sources = append(a.Sources, &pb.AudioSource{Source: s})
		}
		// The return path's far end is another process (FFmpeg), so only
		// the encoder's own work is counted.
		cfg := patternConfig(testpeer.StartFFmpegRTSP(b, "program").URL, 30, a)
		cfg.Width, cfg.Height = 640, 360
		p, _, err := startPipeline(cfg, testpeer.Logger(b), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer p.close()
		if sources == nil {
			p.audio.close()
			p.audio = nil
		}
		testpeer.Await(b, 10*time.Second, "pictures, and every source live", func() bool {
			var st pb.EncoderStatus
			p.fill(&st)
			for _, s := range st.GetAudio().GetStrips() {
				if !s.GetLive() {
					return false
				}
			}
			return st.GetEncodedFrames() > 30 && len(st.GetAudio().GetStrips()) == len(sources)
		})
		cpu0, t0 := selfCPU(), time.Now()
		time.Sleep(span) // the measurement window
		return 100 * (selfCPU() - cpu0).Seconds() / time.Since(t0).Seconds()
	}

	costs := make([][]float64, len(cases))
	for r := 1; r <= rounds; r++ {
		var base float64
		line := fmt.Sprintf("  round %d:", r)
		for i, c := range cases {
			pc := percent(c.sources)
			if i == 0 {
				base = pc
			} else {
				costs[i] = append(costs[i], pc-base)
			}
			line += fmt.Sprintf(" %s %.1f%%;", c.name, pc)
		}
		fmt.Println(line)
	}
	for i, c := range cases[1:] {
		got := costs[i+1]
		slices.Sort(got)
		median := got[len(got)/2]
		fmt.Printf("  sound, %s: %.1f%% of a core over the same program without audio (median of %d rounds of %v; target <= 3%%)\n",
			c.name, median, rounds, span)
		b.ReportMetric(median, "%core-"+c.name)
	}
}

// selfCPU is the CPU time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// decodeADTS has ffmpeg decode the AAC frames a recorder got to 48 kHz
// stereo float.
func decodeADTS(t *testing.T, cfg *mpeg4audio.AudioSpecificConfig, aus []testpeer.RTPUnit) []float32 {
	t.Helper()
	raw := make([][]byte, len(aus))
	for i, au := range aus {
		raw[i] = au.AU
	}
	return testpeer.DecodeAAC(t, cfg, raw)
}
