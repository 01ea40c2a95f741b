package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/capture"
	"github.com/onair-studio/onair/internal/encoder"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// The sound tests run a real master and its real encoder: sound captured
// from a private PulseAudio daemon (or the test tone), mixed and
// AAC-encoded in the encoder, carried by the master to nginx, the monitor
// and recordings, and read back with FFmpeg as a viewer would.

// playedDBFS is the level of the tone played into the audio server.
const playedDBFS = -12.0

// soundMaster starts a master with the sources in its config file and
// the flags in args, capturing from pulse when it is given.
func soundMaster(t *testing.T, pulse *testpeer.Pulse, sources []string, args ...string) *testpeer.Master {
	t.Helper()
	var cfg strings.Builder
	cfg.WriteString("audio:\n  sources:\n")
	for _, s := range sources {
		fmt.Fprintf(&cfg, "    - {source: %q}\n", s)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	if pulse != nil {
		env = append(env, encoder.PulseServerEnv+"="+pulse.Server)
	}
	return startMaster(t, env, append([]string{"-config", path, "-children", "encoder"}, args...)...)
}

// studio is a master streaming the desktop sound (a 1 kHz tone at
// playedDBFS played into the audio server) with the test pattern to nginx.
type studio struct {
	pulse *testpeer.Pulse
	nginx *testpeer.Nginx
	m     *testpeer.Master
	url   string // where viewers play the program at nginx
}

func startStudio(t *testing.T) *studio {
	t.Helper()
	s := &studio{pulse: testpeer.StartPulse(t), nginx: testpeer.StartNginx(t, testpeer.NginxOptions{})}
	s.pulse.Play(t, testpeer.ToneS16(1000, playedDBFS))
	s.url = s.nginx.URL("live", "onair")
	s.m = soundMaster(t, s.pulse, []string{"desktop"},
		"-source", "pattern", "-width", "320", "-height", "180", "-dest", s.url, "-live")
	s.m.Await("the desktop sound live at nginx", 20*time.Second, func() bool {
		st := s.m.Status()
		d := st.GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0 && desktopLive(st) == 1
	})
	return s
}

// desktopLive is 1 when the mix's one strip, the desktop sound, is live, 0
// when it is silent, and -1 when the mix is not that.
func desktopLive(st *pb.MasterStatus) int {
	strips := st.GetAudio().GetStrips()
	switch {
	case len(strips) != 1 || strips[0].GetFrom() != "desktop":
		return -1
	case strips[0].GetLive():
		return 1
	default:
		return 0
	}
}

// viewerLevel is the level of the 1 kHz tone a fresh viewer at url hears:
// it plays seconds of sound and meters what follows the first skip
// (sound sent before the viewer came, and the decoder's start).
func viewerLevel(t *testing.T, url string, seconds, skip float64) float64 {
	t.Helper()
	samples := testpeer.DecodeAudio(t, url, seconds, "-rw_timeout", "5000000")
	from := int(skip * testpeer.AudioRate)
	if len(samples) < from+testpeer.AudioRate/2 {
		t.Fatalf("the viewer heard %d samples, want over %d", len(samples), from+testpeer.AudioRate/2)
	}
	return testpeer.ToneLevel(samples[from:], 1000)
}

// mustCtl runs `master ctl` and fails the test if it fails.
func mustCtl(t *testing.T, m *testpeer.Master, args ...string) {
	t.Helper()
	if out, err := m.Ctl(args...); err != nil {
		t.Fatalf("ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// The desktop sound reaches a viewer behind nginx as AAC, 48 kHz, stereo,
// at the level it was played; `ctl audio volume desktop -6` lowers it by
// 6 dB and `ctl audio mute desktop` silences it.
func TestSoundToneAtViewer(t *testing.T) {
	t.Parallel()
	s := startStudio(t)
	if got := testpeer.AudioStream(t, s.url, "-rw_timeout", "5000000"); got != "aac,48000,2" {
		t.Fatalf("the viewer's sound is %q, want aac,48000,2", got)
	}
	at0 := viewerLevel(t, s.url, 2.5, 0.5)
	mustCtl(t, s.m, "audio", "volume", "desktop", "-6")
	s.m.AwaitConfigured(15*time.Second, "encoder")
	at6 := viewerLevel(t, s.url, 3, 1)
	mustCtl(t, s.m, "audio", "mute", "desktop")
	s.m.AwaitConfigured(15*time.Second, "encoder")
	muted := viewerLevel(t, s.url, 3, 1)
	t.Logf("played %.1f dBFS; the viewer hears %.2f dBFS, %.2f at -6 dB, %.2f muted", playedDBFS, at0, at6, muted)
	if math.Abs(at0-playedDBFS) > 1 {
		t.Errorf("the viewer hears the tone at %.2f dBFS, want %.1f ± 1", at0, playedDBFS)
	}
	if d := at0 - at6; math.Abs(d-6) > 0.5 {
		t.Errorf("volume -6 dB lowered the tone by %.2f dB, want 6 ± 0.5", d)
	}
	if muted > -60 {
		t.Errorf("muted, the viewer hears the tone at %.2f dBFS, want under -60", muted)
	}
}

// WatchEvents carries the mix's meters at 10 Hz or more, reading the
// tone at the level it was played (a sine's RMS is 3 dB under its peak).
func TestSoundMetersInEvents(t *testing.T) {
	t.Parallel()
	s := startStudio(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, err := s.m.Client.WatchEvents(ctx, &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var levels []*pb.AudioLevels
	var first, last time.Time
	for len(levels) < 40 {
		ev, err := events.Recv()
		if err != nil {
			t.Fatalf("events ended after %d meter readings: %v", len(levels), err)
		}
		if l := ev.GetAudioLevels(); l != nil {
			if len(levels) == 0 {
				first = time.Now()
			}
			last = time.Now()
			levels = append(levels, l)
		}
	}
	n := float64(len(levels) - 1)
	arrived := n / last.Sub(first).Seconds()
	taken := n / (float64(levels[len(levels)-1].GetUnixMs()-levels[0].GetUnixMs()) / 1000)
	wantRMS := playedDBFS - 10*math.Log10(2)
	var worst float64
	for _, l := range levels[len(levels)/2:] { // clear of readings queued before the watch
		for c := range 2 {
			if len(l.GetPeakDbfs()) != 2 || len(l.GetRmsDbfs()) != 2 {
				t.Fatalf("meter reading %v, want two channels", l)
			}
			worst = max(worst, math.Abs(l.GetRmsDbfs()[c]-wantRMS), math.Abs(l.GetPeakDbfs()[c]-playedDBFS))
		}
	}
	latest := levels[len(levels)-1]
	t.Logf("%d readings: %.1f Hz as they arrived, %.1f Hz as taken; last peak %.2f RMS %.2f dBFS; worst deviation %.2f dB",
		len(levels), arrived, taken, latest.GetPeakDbfs()[0], latest.GetRmsDbfs()[0], worst)
	if taken < 10 || arrived < 10 {
		t.Errorf("meters come at %.1f Hz (taken at %.1f Hz), want at least 10", arrived, taken)
	}
	if worst > 1 {
		t.Errorf("the meters read the tone up to %.2f dB off (peak %.1f, RMS %.1f dBFS played)", worst, playedDBFS, wantRMS)
	}
}

// ffprobe reading the monitor (its URL through the documented pipe, so
// the password is in no process's arguments) sees the program's AAC track
// beside its picture.
func TestSoundOnMonitor(t *testing.T) {
	t.Parallel()
	m := soundMaster(t, nil, []string{"tone:1000"}, "-source", "pattern", "-width", "320", "-height", "180")
	m.Await("program frames at the master", 15*time.Second, func() bool { return m.Status().GetProgramFrames() > 0 })
	script, err := m.Ctl("monitor-url", "-ffconcat")
	if err != nil {
		t.Fatalf("monitor-url -ffconcat: %v\n%s", err, script)
	}
	_, player, ok := strings.Cut(monitorPlayer, "| ffplay ")
	if !ok {
		t.Fatalf("the documented player is not ffplay: %s", monitorPlayer)
	}
	testpeer.Need(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"-v", "error"}, strings.Fields(player)...)
	args = append(args, "-show_entries", "stream=codec_type,codec_name,sample_rate,channels", "-of", "csv=p=0")
	probe := exec.CommandContext(ctx, "ffprobe", args...)
	probe.Stdin = strings.NewReader(script)
	out, err := probe.CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe reading the monitor: %v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	sort.Strings(got)
	if want := []string{"aac,audio,48000,2", "h264,video"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("the monitor's streams are %q, want %q", got, want)
	}
}

// streamSpan is where a stream of a media file starts and ends, from its
// packets (each lasting frame).
func streamSpan(t *testing.T, path, stream string, frame time.Duration) (start, end time.Duration) {
	t.Helper()
	pkts := testpeer.ProbeStreamPackets(t, path, stream)
	if len(pkts) == 0 {
		t.Fatalf("%s has no %s packets", path, stream)
	}
	start, end = pkts[0].PTS, pkts[0].PTS
	for _, p := range pkts {
		start, end = min(start, p.PTS), max(end, p.PTS+frame)
	}
	return start, end
}

// checkRecording asserts that a recording holds the picture and the sound,
// that both decode without an error, and that they last as long as each
// other (within 100 ms).
func checkRecording(t *testing.T, path string, fps int) {
	t.Helper()
	var video, sound bool
	for _, s := range testpeer.ProbeStreams(t, path) {
		video = video || s.Type == "video" && s.Codec == "h264"
		sound = sound || s.Type == "audio" && s.Codec == "aac" && s.SampleRate == testpeer.AudioRate && s.Channels == 2
	}
	if !video || !sound {
		t.Fatalf("%s: streams %+v, want H.264 and AAC 48 kHz stereo", filepath.Base(path), testpeer.ProbeStreams(t, path))
	}
	if out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-i", path, "-map", "0:v", "-map", "0:a", "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("%s does not decode cleanly: %v\n%s", filepath.Base(path), err, out)
	}
	vs, ve := streamSpan(t, path, "v:0", time.Second/time.Duration(fps))
	as, ae := streamSpan(t, path, "a:0", testpeer.AACFrameDuration)
	samples := testpeer.DecodeAudio(t, path, 3600)
	decoded := time.Duration(len(samples)) * time.Second / testpeer.AudioRate
	t.Logf("%s: picture %v..%v (%v), sound %v..%v (%v), %v of sound decoded", filepath.Base(path),
		vs, ve, ve-vs, as, ae, ae-as, decoded)
	if d := (ve - vs) - (ae - as); d.Abs() > 100*time.Millisecond {
		t.Errorf("%s: the picture lasts %v and the sound %v, want within 100 ms", filepath.Base(path), ve-vs, ae-as)
	}
	if d := decoded - (ae - as); d.Abs() > 100*time.Millisecond {
		t.Errorf("%s: %v of sound decoded from a track of %v", filepath.Base(path), decoded, ae-as)
	}
}

// A recording holds the picture and the sound, both decoding and lasting
// as long as each other; so does one cut short by a SIGKILL of the master.
func TestSoundInRecordings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	whole, cut := filepath.Join(dir, "whole.mp4"), filepath.Join(dir, "cut.mp4")
	m := soundMaster(t, nil, []string{"tone:1000"}, "-source", "pattern", "-width", "320", "-height", "180", "-record", whole)
	recorded := func(frames uint64) func() bool {
		return func() bool {
			r := m.Status().GetRecording()
			return r.GetState() == "recording" && r.GetFramesWritten() > frames
		}
	}
	m.Await("3 s recorded", 20*time.Second, recorded(90))
	mustCtl(t, m, "record", "stop")
	checkRecording(t, whole, 30)

	mustCtl(t, m, "record", "-o", cut)
	m.Await("2.5 s recorded", 20*time.Second, recorded(75))
	if err := m.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-m.Exited
	checkRecording(t, cut, 30)
}

// The A/V sync a viewer sees: the offset between each flash of the
// pattern and the beep of the tone taken at the same instant.

// viewerRecording has ffmpeg play url as a viewer and keep d of what it
// receives, as sent (no decoding), in an FLV file.
func viewerRecording(t *testing.T, url string, d time.Duration) string {
	t.Helper()
	testpeer.Need(t, "ffmpeg")
	path := filepath.Join(t.TempDir(), "viewer.flv")
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-nostdin", "-rw_timeout", "5000000", "-i", url,
		"-c", "copy", "-t", strconv.FormatFloat(d.Seconds(), 'f', -1, 64), "-f", "flv", path).CombinedOutput()
	if err != nil {
		t.Fatalf("the viewer at %s: %v\n%s", url, err, out)
	}
	return path
}

var (
	showinfoMean = regexp.MustCompile(`\bpts:\s*(-?\d+)\b.*\biskey:(\d).*\bmean:\[(\d+)`)
	showinfoTB   = regexp.MustCompile(`config in time_base: (\d+)/(\d+)`)
)

// flashes are the timestamps of the pictures that start a flash of the
// test pattern (w×h) in an FLV file, from its first keyframe on.
func flashes(t *testing.T, path string, w, h int) []time.Duration {
	t.Helper()
	r := capture.PatternFlashRect(w, h).Inset(2)
	crop := fmt.Sprintf("crop=%d:%d:%d:%d,showinfo", r.Dx(), r.Dy(), r.Min.X, r.Min.Y)
	out, err := exec.Command("ffmpeg", "-v", "info", "-nostdin", "-copyts", "-i", path, "-map", "0:v:0",
		"-vf", crop, "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("decoding the viewer's pictures: %v\n%s", err, out)
	}
	var num, den int64
	var lit []bool
	var at []time.Duration
	for _, line := range strings.Split(string(out), "\n") {
		if m := showinfoTB.FindStringSubmatch(line); m != nil && den == 0 {
			num, _ = strconv.ParseInt(m[1], 10, 64)
			den, _ = strconv.ParseInt(m[2], 10, 64)
			continue
		}
		m := showinfoMean.FindStringSubmatch(line)
		if m == nil || den == 0 || (len(at) == 0 && m[2] != "1") {
			continue
		}
		pts, _ := strconv.ParseInt(m[1], 10, 64)
		luma, _ := strconv.Atoi(m[3])
		at = append(at, time.Duration(pts*num*int64(time.Second)/den))
		lit = append(lit, luma > 128)
	}
	return onsets(len(at), func(i int) bool { return lit[i] }, func(i int) time.Duration { return at[i] })
}

// beeps are the timestamps at which the test tone's beeps start in an FLV
// file: the first 1 ms with an RMS halfway between the beep (-6 dBFS) and
// the tone (-20 dBFS), each sample timed by its AAC frame's timestamp.
func beeps(t *testing.T, path string) []time.Duration {
	t.Helper()
	pkts := testpeer.ProbeStreamPackets(t, path, "a:0")
	pcm := testpeer.DecodeAudio(t, path, 3600)
	if len(pcm) != len(pkts)*1024 {
		t.Fatalf("%d AAC frames decoded to %d samples, want 1024 each", len(pkts), len(pcm))
	}
	const win = testpeer.AudioRate / 1000
	threshold := (math.Pow(10, -6.0/20) + math.Pow(10, -20.0/20)) / 2 / math.Sqrt2
	return onsets(len(pcm)/win, func(i int) bool {
		var sum float64
		for _, v := range pcm[i*win : (i+1)*win] {
			sum += v * v
		}
		return math.Sqrt(sum/win) > threshold
	}, func(i int) time.Duration {
		n := i * win
		return pkts[n/1024].PTS + time.Duration(n%1024)*time.Second/testpeer.AudioRate
	})
}

// onsets are the times at which on(i) turns true after being false for at
// least 300 ms (a flash or a beep comes once a second and lasts 100 ms).
func onsets(n int, on func(i int) bool, at func(i int) time.Duration) []time.Duration {
	var out []time.Duration
	offSince := time.Duration(-1)
	for i := 0; i < n; i++ {
		switch {
		case !on(i):
			if offSince < 0 {
				offSince = at(i)
			}
			continue
		case offSince >= 0 && at(i)-offSince >= 300*time.Millisecond:
			out = append(out, at(i))
		}
		offSince = -1
	}
	return out
}

// avOffsets pairs each flash with the beep nearest to it (within 400 ms)
// and returns picture minus sound.
func avOffsets(flashes, beeps []time.Duration) []time.Duration {
	var out []time.Duration
	for _, f := range flashes {
		for _, b := range beeps {
			if d := f - b; d.Abs() < 400*time.Millisecond {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

// percentile is the p-th percentile of |d|.
func percentile(d []time.Duration, p int) time.Duration {
	abs := make([]time.Duration, len(d))
	for i, v := range d {
		abs[i] = v.Abs()
	}
	sort.Slice(abs, func(i, j int) bool { return abs[i] < abs[j] })
	return abs[max((len(abs)*p+99)/100-1, 0)]
}

// A viewer behind nginx sees the picture and hears the sound in sync: the
// pattern's flash and the tone's beep, taken at the same instants, play at
// most 20 ms apart (95th percentile), before and after the encoder is
// killed, in one publish session.
func TestSoundInSyncAtViewer(t *testing.T) {
	t.Parallel()
	const w, h, fps = 320, 180, 60 // a picture every 17 ms: the flash's onset to within 17 ms
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	url := nginx.URL("live", "onair")
	m := soundMaster(t, nil, []string{"tone:1000"}, "-source", "pattern", "-width", strconv.Itoa(w), "-height", strconv.Itoa(h),
		"-fps", strconv.Itoa(fps), "-dest", url, "-live")
	m.Await("live at nginx", 20*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
	})
	measure := func(when string) []time.Duration {
		t.Helper()
		file := viewerRecording(t, url, 13*time.Second)
		f, b := flashes(t, file, w, h), beeps(t, file)
		offsets := avOffsets(f, b)
		if len(offsets) < 10 {
			t.Fatalf("%s: %d flashes matched a beep (flashes %v, beeps %v), want at least 10", when, len(offsets), f, b)
		}
		t.Logf("%s: %d flashes, %d beeps; A/V offsets (picture minus sound) p50 %v, p95 %v, max %v: %v", when, len(f), len(b),
			percentile(offsets, 50), percentile(offsets, 95), percentile(offsets, 100), offsets)
		if p95 := percentile(offsets, 95); p95 > 20*time.Millisecond {
			t.Errorf("%s: p95 A/V offset %v, want at most 20 ms", when, p95)
		}
		return offsets
	}
	before := measure("before the encoder is killed")
	pid := child(m.Status(), "encoder").GetPid()
	if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	m.Await("a new encoder", 15*time.Second, func() bool {
		c := child(m.Status(), "encoder")
		return c.GetState() == "running" && c.GetPid() != pid
	})
	after := measure("after the encoder is killed")
	all := append(before, after...)
	t.Logf("all %d flashes: p50 %v, p95 %v", len(all), percentile(all, 50), percentile(all, 95))
	if n := nginx.Publishes("onair"); n != 1 {
		t.Errorf("nginx saw %d publish sessions, want exactly 1", n)
	}
}

// The audio server killed mid-stream costs the picture nothing: a viewer
// behind nginx keeps receiving frames at the frame rate while status says
// the desktop sound is silent and why. Started again at the same socket,
// the sound is live again within 5 s, in status and at the viewer.
func TestSoundServerDownPictureGoesOn(t *testing.T) {
	// Not parallel: it compares frames received with the wall clock.
	const fps = 30
	s := startStudio(t)
	r := testpeer.StartReader(t, s.url, testpeer.ReaderOptions{})
	s.m.Await("the viewer playing", 15*time.Second, func() bool { return r.Count() > fps })

	from, killed := r.Count(), time.Now()
	s.pulse.Kill(t)
	s.m.Await("the desktop sound silent", 5*time.Second, func() bool { return desktopLive(s.m.Status()) == 0 })
	reason := s.m.Status().GetAudio().GetStrips()[0].GetReason()
	t.Logf("silent %v after the kill: %q", time.Since(killed).Round(time.Millisecond), reason)
	if !strings.Contains(reason, "silent") {
		t.Errorf("the strip's reason %q does not say the sound is silent", reason)
	}
	// Three seconds of pictures at the frame rate, however long they take.
	s.m.Await("3 s of pictures at the viewer", 15*time.Second, func() bool { return r.Count() >= from+3*fps })
	got, window := r.Count()-from, time.Since(killed)
	due := window.Seconds() * fps
	t.Logf("over %v with the audio server down the viewer got %d frames; %.0f were due", window.Round(time.Millisecond), got, due)
	if float64(got) < due-0.2*fps {
		t.Errorf("over %v the viewer got %d frames, %.0f were due", window, got, due)
	}

	restarted := time.Now()
	s.pulse.Start(t)
	s.pulse.Play(t, testpeer.ToneS16(1000, playedDBFS))
	took := s.m.Await("the desktop sound live again", 5*time.Second, func() bool { return desktopLive(s.m.Status()) == 1 })
	t.Logf("status says live %v after the audio server came back", time.Since(restarted).Round(time.Millisecond))

	// When the tone came back for the viewer: sample i of n arrived at
	// the latest (n-i)/rate before the viewer ended.
	samples := testpeer.DecodeAudio(t, s.url, 4, "-rw_timeout", "5000000")
	ended := time.Now()
	const win = testpeer.AudioRate / 10
	back := -1
	for i := 0; i+win <= len(samples); i += win {
		if testpeer.ToneLevel(samples[i:i+win], 1000) > playedDBFS-3 {
			back = i
			break
		}
	}
	if back < 0 {
		t.Fatalf("the viewer never heard the tone again (status live after %v)", took)
	}
	heard := ended.Add(-time.Duration(len(samples)-back) * time.Second / testpeer.AudioRate).Sub(restarted)
	level := testpeer.ToneLevel(samples[len(samples)-testpeer.AudioRate:], 1000)
	t.Logf("the viewer hears the tone again at most %v after the audio server came back, at %.2f dBFS", heard.Round(time.Millisecond), level)
	if heard > 5*time.Second {
		t.Errorf("the viewer heard the tone again %v after the audio server came back, want within 5 s", heard)
	}
	if math.Abs(level-playedDBFS) > 1 {
		t.Errorf("back, the viewer hears the tone at %.2f dBFS, want %.1f ± 1", level, playedDBFS)
	}
	select {
	case <-r.Done():
		t.Fatalf("the viewer stopped: %s", r.Output())
	default:
	}
}
