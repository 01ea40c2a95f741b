package slate

import (
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/onair-studio/onair/internal/stream"
)

// call is one call the outputs received.
type call struct {
	kind string // "start" or "au"
	sps  string
	au   string // the access unit's first NAL unit
	pts  time.Duration
}

type recorder struct {
	calls  []call
	sounds []stream.Unit
	audio  []*mpeg4audio.AudioSpecificConfig // each start's
}

func (r *recorder) SourceStarted(_ string, t stream.Tracks) {
	r.calls = append(r.calls, call{kind: "start", sps: string(t.SPS())})
	r.audio = append(r.audio, t.Audio)
}
func (r *recorder) Unit(_ string, u stream.Unit) {
	if u.Kind == stream.Audio {
		r.sounds = append(r.sounds, u)
		return
	}
	r.calls = append(r.calls, call{kind: "au", au: string(u.NALUs[0]), pts: u.PTS})
}
func (r *recorder) SourceStopped(string) {}

func (r *recorder) take() []call {
	c := r.calls
	r.calls = nil
	return c
}

// NAL units whose first byte gives their type: 5 is an IDR, 1 a P slice.
const (
	slateIDR = "\x65slate-idr"
	slateP   = "\x41slate-p"
	realIDR  = "\x65real-idr"
	realP    = "\x41real-p"
)

func au(nalu string) stream.Unit { return stream.VideoUnit([][]byte{[]byte(nalu)}, 0) }

func tracks(sps string) stream.Tracks {
	return stream.Tracks{Video: &stream.H264{SPS: []byte(sps), PPS: []byte("pps")}}
}

// clock is a hand-moved clock for the filter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time                { return c.t }
func (c *clock) add(d time.Duration) time.Time { c.t = c.t.Add(d); return c.t }

func setup(t *testing.T) (*Filter, *recorder, *clock, *int) {
	t.Helper()
	rec, clk, keyframes := &recorder{}, &clock{t: time.Unix(1000, 0)}, new(int)
	f := New(rec, clk.now, func() { *keyframes++ }, nil)
	f.SetLive(true)
	// 10 fps, a GOP of three pictures.
	f.SetSlate("program", &Slate{SPS: []byte("slate-sps"), PPS: []byte("pps"), FPS: 10,
		GOP: [][][]byte{{[]byte(slateIDR)}, {[]byte(slateP)}, {[]byte(slateP)}}})
	f.SourceStarted("program", tracks("real-sps"))
	return f, rec, clk, keyframes
}

// Pictures pass through untouched while they come; a second without one
// starts the slate as a new source, paced at its frame rate with timestamps
// from its slots, looping its GOP from the IDR; the real picture takes over
// at its first keyframe, announced with its own parameter sets.
func TestSlateDuringOutage(t *testing.T) {
	f, rec, clk, keyframes := setup(t)
	f.Unit("program", au(realIDR))
	f.Tick(clk.add(500 * time.Millisecond))
	f.Unit("program", au(realP))
	f.Tick(clk.add(999 * time.Millisecond))
	if got := rec.take(); len(got) != 3 || got[0].kind != "start" || got[1].au != realIDR || got[2].au != realP {
		t.Fatalf("while pictures come: %+v, want them passed through", got)
	}

	f.Tick(clk.add(time.Millisecond)) // a second since the last picture
	got := rec.take()
	if len(got) != 2 || got[0] != (call{kind: "start", sps: "slate-sps"}) || got[1].au != slateIDR || got[1].pts != 0 {
		t.Fatalf("after a second without a picture: %+v, want the slate as a new source from its IDR", got)
	}
	if s := f.Showing(); len(s) != 1 || s[0] != "program" {
		t.Fatalf("showing %v", s)
	}
	f.Tick(clk.add(50 * time.Millisecond)) // before the next slot
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("between slots: %+v", got)
	}
	var aus []call
	for i := 0; i < 5; i++ {
		f.Tick(clk.add(100 * time.Millisecond))
		aus = append(aus, rec.take()...)
	}
	want := []string{slateP, slateP, slateIDR, slateP, slateP}
	for i, c := range aus {
		if c.au != want[i] || c.pts != time.Duration(i+1)*100*time.Millisecond {
			t.Fatalf("slate picture %d: %q at %v, want %q at %v", i+1, c.au, c.pts, want[i], time.Duration(i+1)*100*time.Millisecond)
		}
	}
	if len(aus) != len(want) {
		t.Fatalf("%d slate pictures over 500 ms at 10 fps, want 5", len(aus))
	}

	// The encoder is back, mid-GOP: the slate stays and an IDR is asked for.
	f.SourceStarted("program", tracks("new-sps"))
	f.Unit("program", au(realP))
	f.Tick(clk.add(100 * time.Millisecond))
	if got := rec.take(); len(got) != 1 || got[0].au != slateIDR {
		t.Fatalf("before the real keyframe: %+v, want the slate going on", got)
	}
	if *keyframes != 1 {
		t.Fatalf("%d keyframe requests, want 1", *keyframes)
	}
	f.Unit("program", au(realIDR))
	f.Tick(clk.add(100 * time.Millisecond))
	got = rec.take()
	if len(got) != 2 || got[0] != (call{kind: "start", sps: "new-sps"}) || got[1].au != realIDR {
		t.Fatalf("at the real keyframe: %+v, want the real source announced and passed through", got)
	}
	if s := f.Showing(); len(s) != 0 {
		t.Fatalf("still showing %v", s)
	}
}

// A late tick sends the slots it missed, up to maxLate; slots further
// behind are skipped with the timestamps jumping ahead, and the pictures
// stay in GOP order.
func TestSlateCatchesUpAfterALateTick(t *testing.T) {
	f, rec, clk, _ := setup(t)
	f.Tick(clk.add(time.Second))
	rec.take()
	f.Tick(clk.add(300 * time.Millisecond))
	if got := rec.take(); len(got) != 3 || got[2].pts != 300*time.Millisecond {
		t.Fatalf("after 300 ms: %+v, want 3 slots up to 300 ms", got)
	}
	f.Tick(clk.add(2 * time.Second))
	got := rec.take()
	if len(got) != maxLate || got[maxLate-1].pts != 2300*time.Millisecond {
		t.Fatalf("after a 2 s stall: %d pictures, last at %v; want %d, the last at 2.3 s", len(got), got[len(got)-1].pts, maxLate)
	}
	// The GOP goes on where it was, after the IDR of slot 3.
	if got[0].au != slateP || got[1].au != slateP || got[2].au != slateIDR {
		t.Fatalf("after a stall the GOP restarts out of order: %+v", got)
	}
}

// Without a slate (none made yet, or no encoder), a quiet path stays quiet.
func TestNoSlateNoPictures(t *testing.T) {
	rec, clk := &recorder{}, &clock{t: time.Unix(1000, 0)}
	f := New(rec, clk.now, nil, nil)
	f.SetLive(true)
	f.Unit("program", au(realIDR))
	f.Tick(clk.add(5 * time.Second))
	if got := rec.take(); len(got) != 1 {
		t.Fatalf("%+v, want only the real picture", got)
	}
}

// Off air no one would see the slate: it does not start, and one showing
// stops, leaving the outputs the real parameter sets for the next start.
func TestNoSlateOffAir(t *testing.T) {
	f, rec, clk, _ := setup(t)
	f.Tick(clk.add(time.Second))
	rec.take()
	f.SetLive(false)
	if got := rec.take(); len(got) != 1 || got[0] != (call{kind: "start", sps: "real-sps"}) {
		t.Fatalf("going off air on the slate: %+v, want the real source announced again", got)
	}
	f.Tick(clk.add(5 * time.Second))
	if got := rec.take(); len(got) != 0 || len(f.Showing()) != 0 {
		t.Fatalf("off air: %+v, showing %v", got, f.Showing())
	}
	f.SetLive(true)
	f.Tick(clk.add(10 * time.Millisecond))
	if got := rec.take(); len(got) != 2 || got[1].au != slateIDR {
		t.Fatalf("back on air with the encoder still down: %+v, want the slate at once", got)
	}
}

// While the slate shows, it carries silence on the program's sound track:
// one silent AAC frame after another from the slate's start, never past
// the time of its last picture, so players and live servers hear a sound track go on.
func TestSlateCarriesSilence(t *testing.T) {
	f, rec, clk, _ := setup(t)
	conf := &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: 2}
	f.SetSlate("program", &Slate{SPS: []byte("slate-sps"), PPS: []byte("pps"), FPS: 10,
		GOP: [][][]byte{{[]byte(slateIDR)}}, AAC: conf, Silence: []byte("silence")})
	f.Unit("program", au(realIDR))
	f.Tick(clk.add(time.Second)) // the slate starts
	for i := 0; i < 20; i++ {
		f.Tick(clk.add(100 * time.Millisecond))
	}
	if a := rec.audio[len(rec.audio)-1]; a != conf {
		t.Fatalf("the slate announced sound %v, want the program's", a)
	}
	frame := 1024 * time.Second / 48000
	last := rec.calls[len(rec.calls)-1].pts
	if n := len(rec.sounds); n < int(last/frame) {
		t.Fatalf("%d silent frames for %v of slate", n, last)
	}
	for i, u := range rec.sounds {
		if string(u.AAC) != "silence" || u.PTS != time.Duration(i)*frame || u.PTS >= last+100*time.Millisecond {
			t.Fatalf("silent frame %d: %q at %v (last picture at %v)", i, u.AAC, u.PTS, last)
		}
	}
}
