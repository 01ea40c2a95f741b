package record

import (
	"path/filepath"
	"testing"
	"time"

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
	sps, pps := testpeer.ParamSets(aus)
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

// soundLag is how much later than its picture the sound arrives from the
// encoder (mixing, AAC framing).
const soundLag = 250 * time.Millisecond

// lateSound feeds a recording pictures and sound the way the encoder
// sends them: each sound frame once the picture soundLag after it came.
type lateSound struct {
	rec  stream.Sink
	aacs [][]byte
	next int // the first sound frame not fed yet
}

func (l *lateSound) picture(au testpeer.AccessUnit) {
	l.rec.Unit("program", stream.VideoUnit(au.NALUs, au.PTS))
	l.soundUpTo(au.PTS - soundLag)
}

// soundUpTo feeds the sound frames that begin before until.
func (l *lateSound) soundUpTo(until time.Duration) {
	for ; l.next < len(l.aacs) && time.Duration(l.next)*testpeer.AACFrameDuration < until; l.next++ {
		l.rec.Unit("program", stream.AudioUnit(l.aacs[l.next], time.Duration(l.next)*testpeer.AACFrameDuration))
	}
}

// checkSoundWithPicture asserts that the file's picture and sound begin
// and end within 100 ms of each other and returns how many pictures it has.
func checkSoundWithPicture(t *testing.T, path string) int {
	t.Helper()
	if got := testpeer.AudioStream(t, path); got != "aac,48000,2" {
		t.Fatalf("audio stream %q, want aac,48000,2", got)
	}
	if msg := decodeErrors(t, path); msg != "" {
		t.Errorf("ffmpeg -v error printed:\n%s", msg)
	}
	video, audio := testpeer.ProbeStreamPackets(t, path, "v:0"), testpeer.ProbeStreamPackets(t, path, "a:0")
	vstart, vend := video[0].PTS, video[len(video)-1].PTS+frameDur
	astart, aend := audio[0].PTS, audio[len(audio)-1].PTS+testpeer.AACFrameDuration
	t.Logf("%d pictures %v..%v, %d sound frames %v..%v", len(video), vstart, vend, len(audio), astart, aend)
	if d := vstart - astart; d.Abs() > 100*time.Millisecond {
		t.Errorf("the picture begins at %v and the sound at %v, want within 100 ms", vstart, astart)
	}
	if d := vend - aend; d.Abs() > 100*time.Millisecond {
		t.Errorf("the picture ends at %v and the sound at %v, want within 100 ms", vend, aend)
	}
	return len(video)
}

// closeAwaitingSound closes rec while the sound of the pictures up to end
// is still fed to it, as the program goes on feeding a recording being
// stopped.
func closeAwaitingSound(t *testing.T, rec *Recorder, feed *lateSound, end time.Duration) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- rec.Close() }()
	testpeer.Await(t, 10*time.Second, "Close to begin", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.closed
	})
	feed.soundUpTo(end)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}

// A recording started while the program runs records its sound from its
// first picture on.
func TestRecordingStartedLiveHasSound(t *testing.T) {
	t.Parallel()
	c := loadClip(t, testpeer.ClipOptions{Seconds: 3})
	conf, aacs := testpeer.SineAAC(t, 1000, 3)
	var program stream.FanOut
	program.SourceStarted("program", stream.Tracks{Video: &stream.H264{SPS: c.sps, PPS: c.pps}, Audio: conf})
	feed := &lateSound{rec: &program, aacs: aacs}
	for _, au := range c.aus[:45] { // mid-GOP
		feed.picture(au)
	}
	out := filepath.Join(t.TempDir(), "show.mp4")
	rec, err := New(Config{Path: out, Log: testpeer.Logger(t), soundWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	program.Add(rec)
	for _, au := range c.aus[45:] {
		feed.picture(au)
	}
	closeAwaitingSound(t, rec, feed, time.Duration(len(c.aus))*frameDur)
	program.Remove(rec)
	if n := checkSoundWithPicture(t, out); n != 30 {
		t.Errorf("%d pictures recorded, want the last second's 30 (from the first keyframe after the start)", n)
	}
}

// Stopping a recording keeps the sound of its last pictures, which
// arrives after them: the file's sound ends with its picture.
func TestSoundEndsWithPictureOnClose(t *testing.T) {
	t.Parallel()
	c := loadClip(t, testpeer.ClipOptions{Seconds: 3})
	conf, aacs := testpeer.SineAAC(t, 1000, 3)
	out := filepath.Join(t.TempDir(), "show.mp4")
	// However long this machine takes to hand over the last sound.
	rec, err := New(Config{Path: out, Log: testpeer.Logger(t), soundWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	rec.SourceStarted("program", stream.Tracks{Video: &stream.H264{SPS: c.sps, PPS: c.pps}, Audio: conf})
	feed := &lateSound{rec: rec, aacs: aacs}
	for _, au := range c.aus {
		feed.picture(au)
	}
	closeAwaitingSound(t, rec, feed, time.Duration(len(c.aus))*frameDur)
	if n := checkSoundWithPicture(t, out); n != len(c.aus) {
		t.Errorf("%d pictures recorded, %d fed", n, len(c.aus))
	}
}

// Sound that stops (or never comes) holds the pictures back by at most
// half a second while recording, and none are lost on Close.
func TestStalledSoundHoldsNoPictures(t *testing.T) {
	t.Parallel()
	c := loadClip(t, testpeer.ClipOptions{Seconds: 3})
	conf, aacs := testpeer.SineAAC(t, 1000, 1)
	out := filepath.Join(t.TempDir(), "show.mp4")
	rec, err := New(Config{Path: out, Log: testpeer.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	rec.SourceStarted("program", stream.Tracks{Video: &stream.H264{SPS: c.sps, PPS: c.pps}, Audio: conf})
	feed := &lateSound{rec: rec, aacs: aacs} // one second of sound, then none
	for _, au := range c.aus {
		feed.picture(au)
	}
	// The fragment cut at the last keyframe (2 s) holds the pictures up
	// to half a second before it.
	held := 2*time.Second - maxSoundWait
	testpeer.Await(t, 10*time.Second, "pictures recorded past the stalled sound", func() bool {
		return rec.Status().FramesWritten >= uint64(held/frameDur)
	})
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if st := rec.Status(); st.FramesWritten != uint64(len(c.aus)) {
		t.Fatalf("%d pictures written of %d", st.FramesWritten, len(c.aus))
	}
}
