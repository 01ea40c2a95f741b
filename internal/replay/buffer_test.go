package replay

import (
	"bytes"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/pmp4"

	"github.com/onair-studio/onair/internal/stream"
)

// feed gives b secs of 30 fps pictures with a keyframe every second, each
// picture size bytes.
func feed(b *Buffer, secs, size int) {
	b.SourceStarted("program", stream.Tracks{Video: &stream.H264{SPS: testSPS, PPS: []byte{0x68, 0xce, 0x3c, 0x80}}})
	for i := 0; i < secs*30; i++ {
		typ := byte(1)
		if i%30 == 0 {
			typ = 5
		}
		pic := append([]byte{typ}, make([]byte, size-1)...)
		b.Unit("program", stream.Unit{Kind: stream.Video, PTS: time.Duration(i) * time.Second / 30, NALUs: [][]byte{pic}, Key: typ == 5})
	}
}

// 1280x720 High profile SPS from x264.
var testSPS = []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60}

func TestBufferKeepsItsSecondsAndBytes(t *testing.T) {
	b, _ := New("program", 5*time.Second, 0)
	feed(b, 20, 100)
	st := b.Stats()
	if st.Held < 5*time.Second || st.Held > 6*time.Second {
		t.Fatalf("holds %v of 20 s, want 5 s plus at most one GOP", st.Held)
	}
	small, _ := New("program", 30*time.Second, 1<<20)
	feed(small, 20, 10_000) // 6 MB of pictures
	if s := small.Stats(); s.Bytes > 1<<20 || s.Bytes == 0 {
		t.Fatalf("holds %d bytes, bound 1 MiB", s.Bytes)
	}
}

func TestClipStartsOnKeyframeAndIsFaststart(t *testing.T) {
	b, _ := New("program", 30*time.Second, 0)
	if _, err := b.Clip(0); err != ErrEmpty {
		t.Fatalf("empty buffer: %v", err)
	}
	feed(b, 20, 100)
	c, err := b.Clip(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Units[0].Key {
		t.Fatal("clip does not start on a keyframe")
	}
	if d := c.Duration(); d < 9500*time.Millisecond || d > 10500*time.Millisecond {
		t.Fatalf("clip lasts %v, want 10 s", d)
	}
	var out bytes.Buffer
	if err := WriteMP4(&out, c); err != nil {
		t.Fatal(err)
	}
	if moov := bytes.Index(out.Bytes(), []byte("moov")); moov < 0 || moov > bytes.Index(out.Bytes(), []byte("mdat")) {
		t.Fatal("moov is not before mdat")
	}
	var p pmp4.Presentation
	if err := p.Unmarshal(bytes.NewReader(out.Bytes())); err != nil {
		t.Fatal(err)
	}
	if n := len(p.Tracks[0].Samples); n != 300 {
		t.Fatalf("%d pictures in the file, want 300", n)
	}
}
