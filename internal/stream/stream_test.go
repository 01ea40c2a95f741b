package stream

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// RTP timestamps of a long stream wrap around 2^32; the PTS taken from them
// keeps counting instead of jumping back 13 hours.
func TestUnwrapSurvivesTheWrap(t *testing.T) {
	var u Unwrap
	start := uint32(1<<32 - 90000) // one second before the wrap at 90 kHz
	if got := u.Next(start); got != int64(start) {
		t.Fatalf("first: %d", got)
	}
	got := u.Next(start + 2*90000) // wrapped
	if want := int64(start) + 2*90000; got != want {
		t.Fatalf("after the wrap: %d, want %d", got, want)
	}
	if d := Duration(got, 90000) - Duration(int64(start), 90000); d != 2*time.Second {
		t.Fatalf("two seconds became %v", d)
	}
	// A packet a little late (reordered) steps back, not forward 13 h.
	if got := u.Next(start + 90000); got != int64(start)+90000 {
		t.Fatalf("step back: %d", got)
	}
}

type counter struct{ started, units, stopped int }

func (c *counter) SourceStarted(string, Tracks) { c.started++ }
func (c *counter) Unit(string, Unit)            { c.units++ }
func (c *counter) SourceStopped(string)         { c.stopped++ }

// Every sink added hears everything until it is removed.
func TestFanOut(t *testing.T) {
	var f FanOut
	a, b := &counter{}, &counter{}
	f.Add(a)
	f.Add(b)
	f.SourceStarted("program", Tracks{})
	f.Unit("program", AudioUnit([]byte{1}, 0))
	f.Remove(a)
	f.Unit("program", VideoUnit([][]byte{{5}}, 0))
	f.SourceStopped("program")
	if *a != (counter{1, 1, 0}) || *b != (counter{1, 2, 1}) {
		t.Fatalf("a %+v b %+v", *a, *b)
	}
}

// recorder keeps what a sink heard, in order.
type recorder struct{ heard []string }

func (r *recorder) SourceStarted(path string, t Tracks) {
	r.heard = append(r.heard, "start "+path+" audio="+strconv.FormatBool(t.Audio != nil))
}
func (r *recorder) Unit(path string, u Unit) { r.heard = append(r.heard, "unit "+path) }
func (r *recorder) SourceStopped(path string) {
	r.heard = append(r.heard, "stop "+path)
}

// A sink added while a source runs (a recording started live) hears that
// source's tracks, sound included, before its first unit; a source that
// stopped is not announced.
func TestFanOutAnnouncesRunningSources(t *testing.T) {
	var f FanOut
	sound := &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: 2}
	f.SourceStarted("program", Tracks{Video: &H264{SPS: []byte{0x67}, PPS: []byte{0x68}}, Audio: sound})
	f.SourceStarted("rendition-360p", Tracks{Video: &H264{}})
	f.SourceStopped("rendition-360p")
	f.Unit("program", AudioUnit([]byte{1}, 0))

	late := &recorder{}
	f.Add(late)
	f.Unit("program", VideoUnit([][]byte{{5}}, 0))
	want := []string{"start program audio=true", "unit program"}
	if !slices.Equal(late.heard, want) {
		t.Fatalf("a sink added live heard %q, want %q", late.heard, want)
	}

	f.SourceStopped("program")
	later := &recorder{}
	f.Add(later)
	if len(later.heard) != 0 {
		t.Fatalf("a sink added after the source stopped heard %q", later.heard)
	}
}
