package output

import (
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/opuspipe"
	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/internal/testpeer"
)

// feedAV hands clip pictures and AAC frames to d interleaved, at real time.
func feedAV(d *Destination, aus []testpeer.AccessUnit, aacs [][]byte) {
	start := time.Now()
	a := 0
	for _, au := range aus {
		for ; a < len(aacs) && time.Duration(a)*testpeer.AACFrameDuration <= au.PTS; a++ {
			d.WriteAudio(aacs[a], time.Duration(a)*testpeer.AACFrameDuration)
		}
		time.Sleep(time.Until(start.Add(au.PTS)))
		d.WriteAccessUnit(au.NALUs, au.PTS, au.PTS)
	}
}

// heardTone checks that the program's 1 kHz tone arrived at its level.
func heardTone(t *testing.T, path, codec string) {
	t.Helper()
	// MPEG-TS lists the stream once more under its program.
	if got, _, _ := strings.Cut(testpeer.AudioStream(t, path), "\n"); got != codec+",48000,2" {
		t.Fatalf("the receiver's sound is %q, want %s,48000,2", got, codec)
	}
	samples := testpeer.DecodeAudio(t, path, 10)
	if len(samples) < testpeer.AudioRate {
		t.Fatalf("the receiver decoded %d samples of sound", len(samples))
	}
	if level := testpeer.ToneLevel(samples[len(samples)/4:], 1000); math.Abs(level-testpeer.SineLevel) > 1.5 {
		t.Fatalf("the tone is heard at %.1f dBFS, played at %.1f", level, testpeer.SineLevel)
	}
}

// The program's AAC reaches an SRT receiver (FFmpeg) as AAC in the
// MPEG-TS, and decodes to the tone that was played.
func TestSRTCarriesSound(t *testing.T) {
	t.Parallel()
	testpeer.Need(t, "ffmpeg")
	conf, aacs := testpeer.SineAAC(t, 1000, 4)
	clip := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 4}), 30)
	port := testpeer.FreePort(t)
	saved := filepath.Join(t.TempDir(), "srt.ts")
	rec := testpeer.StartProgram(t, nil, nil, "ffmpeg", "-v", "error", "-nostdin", "-rw_timeout", "5000000", "-analyzeduration", "1000000", "-f", "mpegts",
		"-i", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener", port), "-t", "2.5", "-c", "copy", "-f", "mpegts", "-y", saved)
	d := startSRT(t, fmt.Sprintf("srt://127.0.0.1:%d", port))
	d.NewSource(stream.Tracks{Audio: conf})
	feedAV(d, clip, aacs)
	if err := rec.Wait(30 * time.Second); err != nil {
		t.Fatalf("the SRT receiver: %v %s", err, rec.Output())
	}
	heardTone(t, saved, "aac")
}

// A WHIP destination sends the program's sound as Opus, transcoded in the
// encoder binary's aac-to-opus child: the receiver's Opus decodes to the
// tone that was played.
func TestWHIPCarriesSoundAsOpus(t *testing.T) {
	t.Parallel()
	encoder := testpeer.GoBuild(t, "./cmd/encoder")
	conf, aacs := testpeer.SineAAC(t, 1000, 4)
	clip := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 4}), 30)
	const token = "whip-bearer-secret"
	srv := testpeer.StartWHIPServer(t, token)
	d := StartDestination(DestinationConfig{
		URL: "whip+" + srv.URL + "?token=" + token, FirstRetry: 100 * time.Millisecond, Log: testpeer.Logger(t),
		OpusCommand: func() *exec.Cmd { return exec.Command(encoder, opuspipe.Arg) },
	})
	defer d.Close()
	testpeer.Await(t, 20*time.Second, "WHIP destination live", func() bool { return d.Status().State == DestLive })
	d.NewSource(stream.Tracks{Audio: conf})
	feedAV(d, clip, aacs)
	if st := d.Status(); st.AudioFramesSent < 100 {
		t.Errorf("status counts %d Opus packets sent", st.AudioFramesSent)
	}
	d.Close()
	ss := srv.Sessions()
	if len(ss) != 1 {
		t.Fatalf("%d sessions, want 1", len(ss))
	}
	heardTone(t, ss[0].Audio, "opus")
}
