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

// recorded waits until the recording has more than frames pictures.
func recorded(m *testpeer.Master, frames uint64) {
	m.T.Helper()
	m.Await(fmt.Sprintf("%d pictures recorded", frames), 20*time.Second, func() bool {
		r := m.Status().GetRecording()
		return r.GetState() == "recording" && r.GetFramesWritten() > frames
	})
}

// A recording started with the master (-record) and stopped with ctl
// holds the picture and the sound, both decoding and lasting as long as
// each other.
func TestSoundInRecording(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "show.mp4")
	m := soundMaster(t, nil, []string{"tone:1000"}, "-source", "pattern", "-width", "320", "-height", "180", "-record", path)
	recorded(m, 90)
	mustCtl(t, m, "record", "stop")
	checkRecording(t, path, 30)
}

// So does a recording started with ctl while the program runs.
func TestSoundInRecordingStartedLive(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "show.mp4")
	m := soundMaster(t, nil, []string{"tone:1000"}, "-source", "pattern", "-width", "320", "-height", "180")
	m.Await("program frames at the master", 15*time.Second, func() bool { return m.Status().GetProgramFrames() > 30 })
	mustCtl(t, m, "record", "-o", path)
	recorded(m, 90)
	mustCtl(t, m, "record", "stop")
	checkRecording(t, path, 30)
}

// A recording cut short by a SIGKILL of the master still holds the
// picture and the sound, both decoding and lasting as long as each other.
func TestSoundInRecordingCutByKill(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cut.mp4")
	m := soundMaster(t, nil, []string{"tone:1000"}, "-source", "pattern", "-width", "320", "-height", "180", "-record", path)
	recorded(m, 75)
	if err := m.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-m.Exited
	checkRecording(t, path, 30)
}

// The A/V sync a viewer sees: the offset between each flash of the
// pattern and the beep of the tone taken at the same instant.

// viewer is ffmpeg playing a live URL and keeping what it receives, as
// sent (no decoding), in an FLV file written packet by packet.
type viewer struct {
	File string
	done chan struct{}
	out  []byte
	err  error
}

// startViewer plays url for d of stream time; the test ends it if it is
// still running.
func startViewer(t *testing.T, url string, d time.Duration) *viewer {
	t.Helper()
	testpeer.Need(t, "ffmpeg")
	v := &viewer{File: filepath.Join(t.TempDir(), "viewer.flv"), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-nostdin", "-rw_timeout", "5000000", "-i", url,
		"-c", "copy", "-t", strconv.FormatFloat(d.Seconds(), 'f', -1, 64), "-flush_packets", "1", "-f", "flv", v.File)
	go func() {
		v.out, v.err = cmd.CombinedOutput()
		close(v.done)
	}()
	t.Cleanup(func() { cancel(); <-v.done })
	return v
}

// Wait waits for the viewer to end by itself and fails the test if it
// did not, or failed.
func (v *viewer) Wait(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-v.done:
	case <-time.After(within):
		t.Fatalf("the viewer did not end within %v", within)
	}
	if v.err != nil {
		t.Fatalf("the viewer failed: %v\n%s", v.err, v.out)
	}
}

// Size is how much the viewer has written so far.
func (v *viewer) Size() int64 {
	fi, err := os.Stat(v.File)
	if err != nil {
		return 0
	}
	return fi.Size()
}

var (
	showinfoFrame = regexp.MustCompile(`\bpts:\s*(-?\d+)\b.*\bpos:\s*(-?\d+).*\biskey:(\d).*\bmean:\[(\d+)`)
	showinfoTB    = regexp.MustCompile(`config in time_base: (\d+)/(\d+)`)
)

// flash is a picture that starts a flash of the test pattern: its
// timestamp, and where it is in the file.
type flash struct {
	PTS time.Duration
	Pos int64
}

// flashes are the pictures that start a flash of the test pattern (w×h at
// fps) in an FLV file, from its first keyframe on. A flash's start is known
// to a frame only when the picture before it was not skipped; a loaded
// machine may skip one, and the flash then seems to start late although
// picture and sound were captured alike, so such flashes are left out.
func flashes(t *testing.T, path string, w, h, fps int) []flash {
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
	var pics []flash
	for _, line := range strings.Split(string(out), "\n") {
		if m := showinfoTB.FindStringSubmatch(line); m != nil && den == 0 {
			num, _ = strconv.ParseInt(m[1], 10, 64)
			den, _ = strconv.ParseInt(m[2], 10, 64)
			continue
		}
		m := showinfoFrame.FindStringSubmatch(line)
		if m == nil || den == 0 || (len(pics) == 0 && m[3] != "1") {
			continue
		}
		pts, _ := strconv.ParseInt(m[1], 10, 64)
		pos, _ := strconv.ParseInt(m[2], 10, 64)
		luma, _ := strconv.Atoi(m[4])
		pics = append(pics, flash{PTS: time.Duration(pts * num * int64(time.Second) / den), Pos: pos})
		lit = append(lit, luma > 128)
	}
	var starts []flash
	for _, i := range testpeer.Onsets(len(pics), 300*time.Millisecond, func(i int) bool { return lit[i] }, func(i int) time.Duration { return pics[i].PTS }) {
		if i > 0 && pics[i].PTS-pics[i-1].PTS < 3*time.Second/time.Duration(2*fps) {
			starts = append(starts, pics[i])
		}
	}
	return starts
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
	at := func(i int) time.Duration {
		n := i * win
		return pkts[n/1024].PTS + time.Duration(n%1024)*time.Second/testpeer.AudioRate
	}
	var out []time.Duration
	for _, i := range testpeer.Onsets(len(pcm)/win, 300*time.Millisecond, func(i int) bool {
		var sum float64
		for _, v := range pcm[i*win : (i+1)*win] {
			sum += v * v
		}
		return math.Sqrt(sum/win) > threshold
	}, at) {
		out = append(out, at(i))
	}
	return out
}

// avOffsets pairs each flash with a beep within 400 ms of it and returns
// picture minus sound, split at a place in the file: the flashes before
// it and those after. The flashes of the first 1.5 s after the split are
// left out: the encoder is killed there, and its successor's sound may
// begin up to 300 ms after its first picture, so a beep it cuts short is
// heard late (the first flash after the split can still be the killed
// encoder's, so the one after it is left out too).
func avOffsets(flashes []flash, beeps []time.Duration, split int64) (before, after []time.Duration) {
	settled := time.Duration(-1)
	for _, f := range flashes {
		if f.Pos >= split && settled < 0 {
			settled = f.PTS + 1500*time.Millisecond
		}
		if f.Pos >= split && f.PTS < settled {
			continue
		}
		for _, b := range beeps {
			if d := f.PTS - b; d.Abs() < 400*time.Millisecond {
				if f.Pos < split {
					before = append(before, d)
				} else {
					after = append(after, d)
				}
				break
			}
		}
	}
	return before, after
}

// percentile is the p-th percentile of |d|.
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	abs := make([]time.Duration, len(d))
	for i, v := range d {
		abs[i] = v.Abs()
	}
	sort.Slice(abs, func(i, j int) bool { return abs[i] < abs[j] })
	return abs[max((len(abs)*p+99)/100-1, 0)]
}

// longestAudioGap is the longest stretch between the ends and starts of
// consecutive AAC frames in a file.
func longestAudioGap(t *testing.T, path string) time.Duration {
	t.Helper()
	pkts := testpeer.ProbeStreamPackets(t, path, "a:0")
	var gap time.Duration
	for i := 1; i < len(pkts); i++ {
		gap = max(gap, pkts[i].PTS-pkts[i-1].PTS-testpeer.AACFrameDuration)
	}
	return gap
}

// liveAt waits until the master's one destination is live and sending.
func liveAt(m *testpeer.Master) {
	m.T.Helper()
	m.Await("live at the destination", 20*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
	})
}

// killEncoder SIGKILLs the encoder and waits for its successor.
func killEncoder(t *testing.T, m *testpeer.Master) {
	t.Helper()
	pid := child(m.Status(), "encoder").GetPid()
	if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	m.Await("a new encoder", 15*time.Second, func() bool {
		c := child(m.Status(), "encoder")
		return c.GetState() == "running" && c.GetPid() != pid
	})
}

// A viewer behind nginx, watching throughout, sees the picture and hears
// the sound in sync: the pattern's flash and the tone's beep, taken at the
// same instants, play at most 20 ms apart (95th percentile), before and
// after the encoder is killed, in one publish session.
func TestSoundInSyncAtViewer(t *testing.T) {
	t.Parallel()
	const w, h, fps = 320, 180, 60 // a picture every 17 ms: the flash's onset to within 17 ms
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	url := nginx.URL("live", "onair")
	m := soundMaster(t, nil, []string{"tone:1000"}, "-source", "pattern", "-width", strconv.Itoa(w), "-height", strconv.Itoa(h),
		"-fps", strconv.Itoa(fps), "-dest", url, "-live")
	liveAt(m)
	const half = 15 * time.Second
	v := startViewer(t, url, 2*half)
	sent := func() uint64 { return m.Status().GetDestinations()[0].GetFramesSent() }
	from := sent()
	m.Await("half the viewing sent", 2*half, func() bool { return v.Size() > 0 && sent() >= from+uint64(half.Seconds()*fps) })
	split := v.Size()
	killEncoder(t, m)
	v.Wait(t, 2*half+30*time.Second)

	f, b := flashes(t, v.File, w, h, fps), beeps(t, v.File)
	before, after := avOffsets(f, b, split)
	for _, c := range []struct {
		when    string
		offsets []time.Duration
	}{{"before the encoder is killed", before}, {"after the encoder is killed", after}} {
		t.Logf("%s: %d flashes matched; A/V offset (picture minus sound) p50 %v, p95 %v, max %v: %v", c.when, len(c.offsets),
			percentile(c.offsets, 50), percentile(c.offsets, 95), percentile(c.offsets, 100), c.offsets)
		if len(c.offsets) < 10 {
			t.Errorf("%s: %d flashes matched a beep (flashes %v, beeps %v), want at least 10", c.when, len(c.offsets), f, b)
		} else if p95 := percentile(c.offsets, 95); p95 > 20*time.Millisecond {
			t.Errorf("%s: p95 A/V offset %v, want at most 20 ms", c.when, p95)
		}
	}
	if n := len(before) + len(after); n < 20 {
		t.Errorf("%d flashes matched a beep in all, want at least 20", n)
	}
	t.Logf("the longest gap in the viewer's sound: %v", longestAudioGap(t, v.File))
	if n := nginx.Publishes("onair"); n != 1 {
		t.Errorf("nginx saw %d publish sessions, want exactly 1", n)
	}
}

// Through an encoder kill the viewer's sound goes on without a gap (the
// master fills the restart with silence, as it keeps the picture's
// timeline), and stays in sync with the picture.
func TestSoundGaplessThroughEncoderKill(t *testing.T) {
	t.Parallel()
	const w, h, fps = 320, 180, 60
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	url := nginx.URL("live", "onair")
	m := soundMaster(t, nil, []string{"tone:1000"}, "-source", "pattern", "-width", strconv.Itoa(w), "-height", strconv.Itoa(h),
		"-fps", strconv.Itoa(fps), "-dest", url, "-live")
	liveAt(m)
	v := startViewer(t, url, 8*time.Second)
	sent := func() uint64 { return m.Status().GetDestinations()[0].GetFramesSent() }
	from := sent()
	m.Await("2 s watched", 20*time.Second, func() bool { return v.Size() > 0 && sent() >= from+2*fps })
	split := v.Size()
	killEncoder(t, m)
	v.Wait(t, 40*time.Second)
	gap := longestAudioGap(t, v.File)
	_, after := avOffsets(flashes(t, v.File, w, h, fps), beeps(t, v.File), split)
	t.Logf("the longest gap in the viewer's sound %v; after the kill %d flashes, A/V offset p95 %v: %v", gap, len(after), percentile(after, 95), after)
	// An AAC frame lasts 21.3 ms: silence fills whole frames, so where an
	// encoder's sound begins less than a frame after its first picture,
	// that much stays unfilled (a player does not stall on it). The file's
	// timestamps are whole milliseconds (RTMP's), so a hole reads up to 2 ms
	// longer than it is. Anything longer is a hole the master left.
	if gap >= testpeer.AACFrameDuration+2*time.Millisecond {
		t.Errorf("the viewer's sound has a gap of %v across the encoder kill, want under one AAC frame", gap)
	}
	if len(after) < 3 || percentile(after, 95) > 20*time.Millisecond {
		t.Errorf("after the kill the viewer's offsets are %v, want at least 3 within 20 ms", after)
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
