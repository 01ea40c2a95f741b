package record

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/internal/testpeer"
)

// A recording holds the program's sound as a second track: both streams
// decode, last as long as each other, and the tone is at the level sent,
// also across an encoder restart (a new source with its clock from 0).
func TestRecordsSound(t *testing.T) {
	t.Parallel()
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 3, FPS: fps}), fps)
	conf, aacs := testpeer.SineAAC(t, 1000, 3)
	out := filepath.Join(t.TempDir(), "show.mp4")
	rec, err := New(Config{Path: out, Log: testpeer.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	sps, pps := paramSets(aus)
	for run := 0; run < 2; run++ {
		rec.SourceStarted("program", stream.Tracks{Video: &stream.H264{SPS: sps, PPS: pps}, Audio: conf})
		a := 0
		for _, au := range aus {
			for ; a < len(aacs) && time.Duration(a)*testpeer.AACFrameDuration <= au.PTS; a++ {
				rec.Unit("program", stream.AudioUnit(aacs[a], time.Duration(a)*testpeer.AACFrameDuration))
			}
			rec.Unit("program", stream.VideoUnit(au.NALUs, au.PTS))
		}
		rec.SourceStopped("program")
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if got := testpeer.AudioStream(t, out); got != "aac,48000,2" {
		t.Fatalf("audio stream %q, want aac,48000,2", got)
	}
	if d := testpeer.DecodeFile(t, out); d.Frames < 2*len(aus)-2 || d.Errors != "" {
		t.Fatalf("video: %+v", d)
	}
	video, audio := testpeer.ProbeStreamPackets(t, out, "v:0"), testpeer.ProbeStreamPackets(t, out, "a:0")
	if st := rec.Status(); st.AudioFramesWritten != uint64(len(audio)) || st.FramesWritten != uint64(len(video)) {
		t.Errorf("status counts %d pictures and %d sound frames written; the file has %d and %d",
			st.FramesWritten, st.AudioFramesWritten, len(video), len(audio))
	}
	vend := video[len(video)-1].PTS + time.Second/fps
	aend := audio[len(audio)-1].PTS + testpeer.AACFrameDuration
	if d := vend - aend; d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("video ends at %v, audio at %v", vend, aend)
	}
	samples := testpeer.DecodeAudio(t, out, 10)
	skip := testpeer.AudioRate / 10
	// Each run's tone in turn (the restart starts the sine's phase over).
	for _, at := range []int{skip, len(samples) - 2*testpeer.AudioRate} {
		if lvl := testpeer.ToneLevel(samples[at:at+testpeer.AudioRate], 1000); lvl < testpeer.SineLevel-1 || lvl > testpeer.SineLevel+1 {
			t.Errorf("tone at %.1f dBFS %v in, sent at %.1f", lvl, time.Duration(at)*time.Second/testpeer.AudioRate, testpeer.SineLevel)
		}
	}
}

// paramSets finds the SPS and PPS in a clip.
func paramSets(aus []testpeer.AccessUnit) (sps, pps []byte) {
	for _, au := range aus {
		for _, n := range au.NALUs {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				sps = n
			case h264.NALUTypePPS:
				pps = n
			}
		}
	}
	return sps, pps
}
