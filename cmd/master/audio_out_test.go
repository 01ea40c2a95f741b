package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/onair-studio/onair/internal/master"
	"github.com/onair-studio/onair/internal/testpeer"
)

// These tests publish the program into the master's return path
// themselves, with sound, as OnAir's encoder does: the master runs without
// an encoder (-children plugins), and with fault injection on it writes
// the return path's publish URL, with this run's credentials, to its
// config dir (master.ReturnURLFile).

const avFPS = 25

// avProgram is a program with a 1 kHz tone to publish into a master.
type avProgram struct {
	url      string
	pictures [][][]byte
	sps, pps []byte
	conf     *mpeg4audio.AudioSpecificConfig
	aacs     [][]byte
}

// startAVMaster starts a master with no encoder, ready for a program
// published by the test.
func startAVMaster(t *testing.T, args ...string) (*testpeer.Master, *avProgram) {
	t.Helper()
	m := startMaster(t, []string{"ONAIR_TEST_FAULTS=1"}, append([]string{"-children", "plugins"}, args...)...)
	p := &avProgram{}
	file := filepath.Join(m.ConfigHome, "onair", master.ReturnURLFile)
	m.Await("the return path's publish URL", 10*time.Second, func() bool {
		b, err := os.ReadFile(file)
		p.url = string(b)
		return err == nil && p.url != ""
	})
	clip := testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 2, FPS: avFPS, Width: 320, Height: 180})
	for _, au := range testpeer.ReadClip(t, clip, avFPS) {
		p.pictures = append(p.pictures, au.NALUs)
		for _, n := range au.NALUs {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				p.sps = n
			case h264.NALUTypePPS:
				p.pps = n
			}
		}
	}
	var aacs [][]byte
	p.conf, aacs = testpeer.SineAAC(t, 1000, 12)
	p.aacs = aacs[2:] // past the encoder's priming: every frame carries the tone
	return m, p
}

// session publishes the program from PTS 0 in one RTSP session, as one
// run of an encoder, until the returned stop is called.
func (p *avProgram) session(t *testing.T) (stop func()) {
	t.Helper()
	pub, err := testpeer.PublishAV(p.url, p.sps, p.pps, p.conf)
	if err != nil {
		t.Fatalf("publishing into the return path: %v", err)
	}
	quit, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- pub.Play(quit, p.pictures, avFPS, p.aacs) }()
	var failed error
	var once sync.Once
	end := func() {
		once.Do(func() {
			close(quit)
			failed = <-done
			pub.Close()
		})
	}
	// At the end of a test the master may be gone: the publisher's error
	// is expected then.
	t.Cleanup(end)
	return func() {
		end()
		if failed != nil {
			t.Errorf("publishing: %v", failed)
		}
	}
}

// awaitFor lets a scenario run for d, failing early if the master exits.
func awaitFor(m *testpeer.Master, what string, d time.Duration) {
	from := time.Now()
	m.Await(what, d+10*time.Second, func() bool { return time.Since(from) >= d })
}

// silentAAC tells the master's silent frames (a few bytes) from the
// tone's (hundreds).
func silentAAC(p testpeer.AudioPacket) bool { return p.Size < 32 }

// The encoder restarts within half a second, shorter than the slate's
// second: at an ffmpeg viewer behind nginx the sound track has no hole
// (silence fills the outage), nginx saw one publish session, and the new
// source's tone is heard within 300 ms of its first picture. Before the
// outage the tone arrives at the level it was sent.
func TestSoundThroughAShortEncoderRestart(t *testing.T) {
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	m, prog := startAVMaster(t, "-dest", nginx.URL("live", "onair"), "-live")
	stop := prog.session(t)
	m.Await("destination live", 15*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
	})
	saved := filepath.Join(t.TempDir(), "viewer.flv")
	viewer := testpeer.SaveStream(t, nginx.URL("live", "onair"), 7, saved)
	awaitFor(m, "the first run playing", 3*time.Second)
	stop()
	awaitFor(m, "the outage", 500*time.Millisecond)
	prog.session(t)
	if err := viewer.Wait(30 * time.Second); err != nil {
		t.Fatalf("the viewer: %v %s", err, viewer.Output())
	}

	pics := testpeer.ProbePackets(t, saved)
	sound := testpeer.AudioPackets(t, saved)
	if len(pics) < 50 || len(sound) < 100 {
		t.Fatalf("the viewer got %d pictures and %d sound packets", len(pics), len(sound))
	}
	// The restart is the longest wait between pictures.
	restart := 1
	for i := range pics[1:] {
		if pics[i+1].PTS-pics[i].PTS > pics[restart].PTS-pics[restart-1].PTS {
			restart = i + 1
		}
	}
	back := pics[restart].PTS
	t.Logf("pictures stop at %v, back at %v", pics[restart-1].PTS, back)
	if back-pics[restart-1].PTS < 400*time.Millisecond {
		t.Fatalf("no outage at the viewer: the longest wait between pictures is %v", back-pics[restart-1].PTS)
	}
	// The tone back: the first tone frame after silence or a hole.
	silent, worst := 0, time.Duration(0)
	var heard time.Duration = -1
	for i, p := range sound {
		step := time.Duration(0)
		if i > 0 {
			step = p.PTS - sound[i-1].PTS
			worst = max(worst, step)
		}
		switch {
		case silentAAC(p):
			silent++
		case heard < 0 && (silent > 0 || step > 50*time.Millisecond):
			heard = p.PTS
		}
	}
	t.Logf("sound: %d packets, %d silent; longest step %v; tone back %v after the picture", len(sound), silent, worst, heard-back)
	// The old source's silence runs in whole frames up to where the outputs
	// place the new source's first picture, so where they meet the step is
	// a frame plus less than a frame left unfilled; RTMP's whole
	// milliseconds add up to 2 ms. The outage unfilled would be a step of
	// half a second.
	if worst >= 2*testpeer.AACFrameDuration+2*time.Millisecond {
		t.Errorf("a hole of %v in the sound at the viewer, want steps under two AAC frames", worst)
	}
	if silent == 0 {
		t.Error("no silence filled the outage")
	}
	if heard < 0 || heard-back > 300*time.Millisecond || heard < back-100*time.Millisecond {
		t.Errorf("the tone came back at %v, the picture at %v: want within 300 ms after it", heard, back)
	}
	if n := nginx.Publishes("onair"); n != 1 {
		t.Errorf("nginx saw %d publish sessions, want exactly 1", n)
	}

	// The level sent is the level heard: 2 s of the first run.
	level := testpeer.ToneLevel(testpeer.DecodeAudio(t, saved, 2), 1000)
	t.Logf("tone at the viewer: %.2f dBFS, sent at %.2f", level, testpeer.SineLevel)
	if d := level - testpeer.SineLevel; d < -1 || d > 1 {
		t.Errorf("the tone reached the viewer at %.2f dBFS, sent at %.2f: want within 1 dB", level, testpeer.SineLevel)
	}
}

// A player that joins the embedded live server mid-stream hears AAC
// 48 kHz stereo from its first second (the keyframe cache carries the
// sound's sequence header and the sound since the keyframe), and the
// monitor carries the sound too.
func TestSoundForLatePlayersAndTheMonitor(t *testing.T) {
	t.Parallel()
	m, prog := startAVMaster(t, "-live")
	prog.session(t)
	play := m.Status().GetRtmpPlay()
	if play == "" {
		t.Fatal("no embedded live server")
	}
	m.Await("destination live", 15*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
	})
	awaitFor(m, "the program playing mid-GOP", 1500*time.Millisecond)
	saved := filepath.Join(t.TempDir(), "player.flv")
	player := testpeer.SaveStream(t, play, 2, saved)
	if err := player.Wait(30 * time.Second); err != nil {
		t.Fatalf("the player: %v %s", err, player.Output())
	}
	if got := testpeer.AudioStream(t, saved); got != "aac,48000,2" {
		t.Errorf("the late player's sound: %q, want aac,48000,2", got)
	}
	pics, sound := testpeer.ProbePackets(t, saved), testpeer.AudioPackets(t, saved)
	if len(pics) == 0 || len(sound) == 0 {
		t.Fatalf("the late player got %d pictures and %d sound packets", len(pics), len(sound))
	}
	if d := sound[0].PTS - pics[0].PTS; d > 100*time.Millisecond || d < -100*time.Millisecond {
		t.Errorf("the late player's sound starts %v after its first picture, want with it", d)
	}
	if level := testpeer.ToneLevel(testpeer.DecodeAudio(t, saved, 1), 1000); level < testpeer.SineLevel-1 {
		t.Errorf("the late player's first second: tone at %.2f dBFS, sent at %.2f", level, testpeer.SineLevel)
	}

	d := m.Status().GetDestinations()[0]
	if perPicture := float64(d.GetAudioFramesSent()) / float64(d.GetFramesSent()); perPicture < 1.5 || perPicture > 2.2 {
		t.Errorf("status: %d sound frames sent for %d pictures, want about %.2f a picture",
			d.GetAudioFramesSent(), d.GetFramesSent(), float64(testpeer.AudioRate)/1024/avFPS)
	}

	url, err := m.Ctl("monitor-url")
	if err != nil {
		t.Fatalf("monitor-url: %v %s", err, url)
	}
	if got := testpeer.AudioStream(t, strings.TrimSpace(url), "-rw_timeout", "5000000"); got != "aac,48000,2" {
		t.Errorf("the monitor's sound: %q, want aac,48000,2", got)
	}
}

// SIGKILL the master while it records a program with sound: the file
// still has both tracks, both decode, and they last as long as each other
// (within 100 ms).
func TestRecordingWithSoundSurvivesKilledMaster(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "show.mp4")
	m, prog := startAVMaster(t, "-record", path)
	prog.session(t)
	m.Await("recording", 15*time.Second, func() bool {
		r := m.Status().GetRecording()
		return r.GetState() == "recording" && r.GetFramesWritten() > 3*avFPS
	})
	if r := m.Status().GetRecording(); r.GetAudioFramesWritten() < r.GetFramesWritten() {
		t.Errorf("status: %d sound frames written for %d pictures, want about 1.9 a picture", r.GetAudioFramesWritten(), r.GetFramesWritten())
	}
	if err := m.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-m.Exited
	if got := testpeer.AudioStream(t, path); got != "aac,48000,2" {
		t.Fatalf("the recording's sound: %q, want aac,48000,2", got)
	}
	if d := testpeer.DecodeFile(t, path); d.Frames == 0 || d.Errors != "" {
		t.Errorf("the recording's picture: %d frames decoded, errors %q", d.Frames, d.Errors)
	}
	samples := testpeer.DecodeAudio(t, path, 60)
	pics := testpeer.ProbePackets(t, path)
	video := pics[len(pics)-1].PTS + time.Second/avFPS - pics[0].PTS
	audio := time.Duration(len(samples)) * time.Second / testpeer.AudioRate
	t.Logf("recorded %v of picture and %v of sound", video, audio)
	if d := audio - video; d > 100*time.Millisecond || d < -100*time.Millisecond {
		t.Errorf("the recording has %v of sound for %v of picture, want within 100 ms", audio, video)
	}
	if level := testpeer.ToneLevel(samples, 1000); level < testpeer.SineLevel-1 {
		t.Errorf("the recorded tone at %.2f dBFS, sent at %.2f", level, testpeer.SineLevel)
	}
}
