package slate

import (
	"fmt"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/onair-studio/onair/internal/stream"
)

// heard is one thing the outputs got, in order.
type heard struct {
	what string // "start", "picture", "sound", "silence"
	pts  time.Duration
}

func (h heard) String() string { return fmt.Sprintf("%s@%v", h.what, h.pts) }

type listener struct {
	got []heard
	clk *clock
	// pictures are the pictures heard and when, in order.
	pictures []picture
}

type picture struct {
	pts time.Duration
	at  time.Time
}

func (l *listener) SourceStarted(string, stream.Tracks) { l.got = append(l.got, heard{what: "start"}) }
func (l *listener) Unit(_ string, u stream.Unit) {
	switch {
	case u.Kind == stream.Video:
		l.got = append(l.got, heard{"picture", u.PTS})
		l.pictures = append(l.pictures, picture{u.PTS, l.clk.t})
	case string(u.AAC) == "real":
		l.got = append(l.got, heard{"sound", u.PTS})
	default:
		l.got = append(l.got, heard{"silence", u.PTS})
	}
}
func (l *listener) SourceStopped(string) {}

func (l *listener) take() []heard {
	g := l.got
	l.got = nil
	return g
}

var stereo = &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: 2}

// aacFrame is one AAC frame at 48 kHz: 21.33 ms.
const aacFrame = 1024 * time.Second / 48000

// source plays a program with sound in real time on the filter's clock: a
// picture every 100 ms and an AAC frame every 1024 samples, both counted
// from the source's start, as a (re)started encoder sends them.
type source struct {
	f     *Filter
	clk   *clock
	start time.Time // when the source's clock read 0
	pics  int
	aacs  int
	// lag is how long after its time each sound frame arrives: the
	// encoder's sound comes about 250 ms behind its picture.
	lag time.Duration
}

func newSource(f *Filter, clk *clock) *source {
	f.SourceStarted("program", stream.Tracks{Video: &stream.H264{SPS: []byte("sps"), PPS: []byte("pps")}, Audio: stereo})
	return &source{f: f, clk: clk, start: clk.t}
}

// playUntil sends what the source captured up to its clock reading d
// (sound first, as it is encoded faster), ticking the filter every 10 ms.
func (s *source) playUntil(d time.Duration) {
	for s.clk.t.Sub(s.start) < d {
		now := s.clk.add(10 * time.Millisecond).Sub(s.start)
		for ; time.Duration(s.aacs+1)*aacFrame+s.lag <= now; s.aacs++ {
			s.f.Unit("program", stream.AudioUnit([]byte("real"), time.Duration(s.aacs)*aacFrame))
		}
		for ; time.Duration(s.pics)*100*time.Millisecond <= now; s.pics++ {
			nalu := realP
			if s.pics == 0 {
				nalu = realIDR
			}
			s.f.Unit("program", stream.VideoUnit([][]byte{[]byte(nalu)}, time.Duration(s.pics)*100*time.Millisecond))
		}
		s.f.Tick(s.clk.t)
	}
}

// wait ticks the filter for d with nothing arriving.
func wait(f *Filter, clk *clock, d time.Duration) {
	for end := clk.t.Add(d); clk.t.Before(end); {
		f.Tick(clk.add(10 * time.Millisecond))
	}
}

// checkSoundContinuous fails unless the sound in got (real or silent) runs
// frame after frame with no hole and no overlap.
func checkSoundContinuous(t *testing.T, what string, got []heard) {
	t.Helper()
	var last *heard
	for i, h := range got {
		if h.what != "sound" && h.what != "silence" {
			continue
		}
		if last != nil && h.pts-last.pts != aacFrame {
			t.Fatalf("%s: %v follows %v: a hole or overlap in the sound\n%v", what, h, *last, got)
		}
		last = &got[i]
	}
}

func soundFilter() (*Filter, *listener, *clock) {
	clk := &clock{t: time.Unix(1000, 0)}
	l := &listener{clk: clk}
	f := New(l, clk.now, nil, nil)
	f.SetLive(true)
	return f, l, clk
}

// The encoder restarts within half a second (shorter than the slate's
// second): the outputs hear the old source's sound, then silence from where
// it stopped, frame after frame and no faster than real time, until the new
// source's first picture, ending less than a frame before where the outputs
// place that picture; from there the new source's sound, with the same
// PTS as its picture (its earlier sound waited for the picture and went out
// with it), and no more silence.
func TestSilenceFillsAShortOutage(t *testing.T) {
	f, l, clk := soundFilter()
	src := newSource(f, clk)
	src.playUntil(time.Second)
	before := l.take()
	checkSoundContinuous(t, "while the source plays", before)
	for _, h := range before {
		if h.what == "silence" {
			t.Fatalf("silence while the sound came: %v", before)
		}
	}
	lastEnd := time.Duration(src.aacs) * aacFrame

	stopped := clk.t
	wait(f, clk, 800*time.Millisecond)
	gap := l.take()
	if len(gap) == 0 || gap[0] != (heard{"silence", lastEnd}) {
		t.Fatalf("after the sound stopped at %v: %v, want silence from there", lastEnd, gap)
	}
	if last := gap[len(gap)-1].pts; last > lastEnd+clk.t.Sub(stopped)-SilenceAfter {
		t.Fatalf("silence within %v of real time: up to %v after %v quiet from %v (late sound would find its time taken)", SilenceAfter, last, clk.t.Sub(stopped), lastEnd)
	}
	checkSoundContinuous(t, "through the gap", append(before, gap...))
	if last := gap[len(gap)-1].pts; last > lastEnd+clk.t.Sub(stopped) {
		t.Fatalf("silence ran ahead of real time: up to %v after %v quiet from %v", last, clk.t.Sub(stopped), lastEnd)
	}

	// The new source: its clock starts over, and its first sound arrives
	// before its first picture.
	n := len(l.pictures)
	src = newSource(f, clk)
	f.Unit("program", stream.AudioUnit([]byte("real"), 0))
	src.aacs = 1
	wait(f, clk, 50*time.Millisecond) // the picture is late: silence goes on, on the old clock
	src.start = clk.t.Add(-50 * time.Millisecond)
	src.playUntil(400 * time.Millisecond)
	after := l.take()
	// Silence goes on, on the old clock, past the announcement of the new
	// source until its first picture.
	var silence []heard
	i := 0
	for ; i < len(after) && after[i].what != "picture"; i++ {
		if after[i].what == "silence" {
			silence = append(silence, after[i])
		} else if after[i].what != "start" {
			t.Fatalf("before the new picture: %v", after)
		}
	}
	checkSoundContinuous(t, "until the new picture", append(gap, silence...))
	// The outputs place the new picture after the old one's last by the
	// wall clock between them; the silence on the old clock ends less than
	// a frame before it, never after.
	if len(silence) == 0 {
		t.Fatalf("no silence on the old clock before the new picture: %v", after)
	}
	last, first := l.pictures[n-1], l.pictures[n]
	at := last.pts + first.at.Sub(last.at)
	if end := silence[len(silence)-1].pts + aacFrame; end > at || end <= at-aacFrame {
		t.Fatalf("the old clock's silence ends at %v, the new picture goes out at %v on it: want the end within a frame before it", end, at)
	}
	if len(after) < i+2 || after[i] != (heard{"picture", 0}) || after[i+1] != (heard{"sound", 0}) {
		t.Fatalf("at the new source: %v, want its picture and its sound at PTS 0", after)
	}
	i++
	checkSoundContinuous(t, "after the new picture", after[i:])
	for _, h := range after[i:] {
		if h.what == "silence" {
			t.Fatalf("silence after the new source's sound came: %v", after[i:])
		}
	}
}

// A source whose sound comes late after its first picture gets silence
// from that picture's PTS; its real sound replaces the silence from the
// first frame silence has not covered.
func TestSilenceUntilTheNewSourceSoundComes(t *testing.T) {
	f, l, clk := soundFilter()
	newSource(f, clk)
	f.Unit("program", stream.VideoUnit([][]byte{[]byte(realIDR)}, 40*time.Millisecond))
	l.take()
	wait(f, clk, SilenceAfter+300*time.Millisecond)
	got := l.take()
	if len(got) == 0 || got[0] != (heard{"silence", 40 * time.Millisecond}) {
		t.Fatalf("a source with a sound track but no sound yet: %v, want silence from its first picture", got)
	}
	checkSoundContinuous(t, "silence", got)
	end := got[len(got)-1].pts + aacFrame
	f.Unit("program", stream.AudioUnit([]byte("real"), end-aacFrame/2)) // overlaps the silence
	f.Unit("program", stream.AudioUnit([]byte("real"), end+aacFrame/2))
	wait(f, clk, 100*time.Millisecond)
	if got := l.take(); len(got) != 1 || got[0] != (heard{"sound", end + aacFrame/2}) {
		t.Fatalf("real sound after silence up to %v: %v, want only the frame past the silence, and no more silence", end, got)
	}
}

// Off air no one hears a gap: no silence is sent.
func TestNoSilenceOffAir(t *testing.T) {
	f, l, clk := soundFilter()
	src := newSource(f, clk)
	src.playUntil(500 * time.Millisecond)
	f.SetLive(false)
	l.take()
	wait(f, clk, time.Second)
	if got := l.take(); len(got) != 0 {
		t.Fatalf("off air: %v", got)
	}
}

// An outage longer than a second: silence on the old clock, then the
// slate with its own silence; the real source's sound comes back with its
// keyframe, at the keyframe's PTS, though it arrived while the slate still
// showed.
func TestSoundThroughTheSlate(t *testing.T) {
	f, l, clk := soundFilter()
	f.SetSlate("program", &Slate{SPS: []byte("slate-sps"), PPS: []byte("pps"), FPS: 10,
		GOP: [][][]byte{{[]byte(slateIDR)}}, AAC: stereo, Silence: []byte("slate-silence")})
	src := newSource(f, clk)
	src.playUntil(time.Second)
	l.take()
	wait(f, clk, 2*time.Second)
	got := l.take()
	starts := 0
	for _, h := range got {
		if h.what == "start" {
			starts++
		}
	}
	if starts != 1 || !containsSilenceBefore(got, "start") {
		t.Fatalf("a 2 s outage: %v, want silence on the old clock, then the slate", got)
	}

	// The encoder is back: sound and P-frames first; the slate stays until
	// the keyframe at 300 ms, and the sound from there goes out with it.
	newSource(f, clk)
	for i := 0; i < 20; i++ {
		f.Unit("program", stream.AudioUnit([]byte("real"), time.Duration(i)*aacFrame))
	}
	f.Unit("program", stream.VideoUnit([][]byte{[]byte(realP)}, 200*time.Millisecond))
	f.Tick(clk.add(10 * time.Millisecond))
	l.take()
	f.Unit("program", stream.VideoUnit([][]byte{[]byte(realIDR)}, 300*time.Millisecond))
	got = l.take()
	first := (300*time.Millisecond + aacFrame - 1) / aacFrame * aacFrame
	if len(got) < 3 || got[0].what != "start" || got[1] != (heard{"picture", 300 * time.Millisecond}) || got[2] != (heard{"sound", first}) {
		t.Fatalf("at the keyframe: %v, want the source, its picture and the sound from %v", got, first)
	}
	checkSoundContinuous(t, "the sound that waited", got[2:])
}

func containsSilenceBefore(got []heard, what string) bool {
	for _, h := range got {
		switch h.what {
		case "silence":
			return true
		case what:
			return false
		}
	}
	return false
}

// The encoder's sound comes about 250 ms behind its picture, also right
// after a restart: it must not be taken for silence, neither before the
// restart nor after it, where it once found its time already filled with
// silence and was dropped for good.
func TestLateSoundThroughARestart(t *testing.T) {
	f, l, clk := soundFilter()
	src := newSource(f, clk)
	src.lag = 250 * time.Millisecond
	src.playUntil(2 * time.Second)
	before := l.take()
	for _, h := range before {
		if h.what == "silence" {
			t.Fatalf("silence while late sound came: %v", before)
		}
	}
	wait(f, clk, 300*time.Millisecond) // the encoder is killed
	src = newSource(f, clk)
	src.lag = 250 * time.Millisecond
	src.playUntil(2 * time.Second)
	after := l.take()
	real, silentAfterReal := 0, 0
	for _, h := range after {
		switch {
		case h.what == "sound":
			real++
		case h.what == "silence" && real > 0:
			silentAfterReal++
		}
	}
	if real < 60 || silentAfterReal > 0 {
		t.Fatalf("after the restart %d real sound frames and %d silent ones after them, want the new source's sound (about 80) and no silence: %v", real, silentAfterReal, after)
	}
	// The old source's clock lasts until the new source's first picture.
	for i, h := range after {
		if h.what == "picture" {
			checkSoundContinuous(t, "the old source's silence", append(before, after[:i]...))
			checkSoundContinuous(t, "the new source", after[i:])
			break
		}
	}
}

// A new source whose sound is in another config (mono here) stops the old
// clock's silence at its announcement: the outputs take every sound frame
// after it to be in the new config, and stereo silence would not decode
// as mono.
func TestNoOldSilenceAfterANewSoundConfig(t *testing.T) {
	f, l, clk := soundFilter()
	src := newSource(f, clk)
	src.playUntil(time.Second)
	wait(f, clk, 300*time.Millisecond)
	mono := &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: 1}
	l.take()
	f.SourceStarted("program", stream.Tracks{Video: &stream.H264{SPS: []byte("sps"), PPS: []byte("pps")}, Audio: mono})
	wait(f, clk, 600*time.Millisecond) // its picture is late
	f.Unit("program", stream.VideoUnit([][]byte{[]byte(realIDR)}, 0))
	got := l.take()
	i := 0
	for i < len(got) && got[i].what == "silence" { // the old source's, to its end
		i++
	}
	if len(got) != i+2 || got[i].what != "start" || got[i+1] != (heard{"picture", 0}) {
		t.Fatalf("a source in another sound config, its picture 600 ms late: %v, want its start and its picture, no silence between", got)
	}
}
