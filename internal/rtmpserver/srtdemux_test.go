package rtmpserver

import (
	"bytes"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"

	"github.com/onair-studio/onair/internal/output/rtmpwire"
)

var (
	testSPS = []byte{0x67, 0x64, 0x00, 0x0c, 0xac, 0x3b, 0x50, 0xb0, 0x4b, 0x42, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x3d, 0x08}
	testPPS = []byte{0x68, 0xee, 0x3c, 0x80}
)

// testTS is a program as an SRT publisher sends it: a picture before the
// first keyframe (which a player cannot use), a keyframe with its parameter
// sets 1 s into the stream clock, two more pictures and AAC sound.
func testTS(t testing.TB) []byte {
	var buf bytes.Buffer
	video := &mpegts.Track{Codec: &mpegts.CodecH264{}}
	audio := &mpegts.Track{Codec: &mpegts.CodecMPEG4Audio{Config: mpeg4audio.AudioSpecificConfig{
		Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: 2}}}
	w := &mpegts.Writer{W: &buf, Tracks: []*mpegts.Track{video, audio}}
	if err := w.Initialize(); err != nil {
		t.Fatal(err)
	}
	write := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	write(w.WriteH264(video, 87000, 87000, [][]byte{{0x41, 1, 2}}))
	write(w.WriteH264(video, 93000, 90000, [][]byte{testSPS, testPPS, {0x65, 9, 9, 9}}))
	write(w.WriteMPEG4Audio(audio, 90000, [][]byte{{0x21, 1}, {0x21, 2}}))
	write(w.WriteH264(video, 96000, 93000, [][]byte{{0x41, 3}}))
	write(w.WriteH264(video, 99000, 96000, [][]byte{{0x41, 4}}))
	return buf.Bytes()
}

func convert(ts []byte) ([]tag, error) {
	r := &mpegts.Reader{R: bytes.NewReader(ts)}
	if err := r.Initialize(); err != nil {
		return nil, err
	}
	var tags []tag
	c := &tsToFLV{emit: func(t tag) { tags = append(tags, t) }}
	if err := c.attach(r); err != nil {
		return nil, err
	}
	r.OnDecodeError(func(error) {})
	for r.Read() == nil {
	}
	return tags, nil
}

// What a player receives starts with the decoder configuration and the
// keyframe at 0 ms, and keeps the stream's timing.
func TestTSToFLV(t *testing.T) {
	tags, err := convert(testTS(t))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		typeID   byte
		ts       uint32
		key, seq bool
	}
	var got []want // video, then audio: the demuxer hands each track over in its own time
	for _, typeID := range []byte{typeVideo, typeAudio} {
		for _, g := range tags {
			if g.typeID != typeID {
				continue
			}
			w := want{typeID: g.typeID, ts: g.ts}
			if g.typeID == typeVideo {
				w.key, w.seq = rtmpwire.VideoTag(g.payload)
			} else {
				w.seq = rtmpwire.AudioSequenceHeader(g.payload)
			}
			got = append(got, w)
		}
	}
	expect := []want{
		{typeVideo, 0, true, true},
		{typeVideo, 0, true, false},
		{typeVideo, 33, false, false},
		{typeVideo, 66, false, false},
		{typeAudio, 0, false, true},
		{typeAudio, 0, false, false},
		{typeAudio, 21, false, false}, // 1024 samples at 48 kHz later
	}
	if len(got) != len(expect) {
		t.Fatalf("tags %+v, want %+v", got, expect)
	}
	for i := range expect {
		if got[i] != expect[i] {
			t.Errorf("tag %d: %+v, want %+v", i, got[i], expect[i])
		}
	}
	seq, _ := rtmpwire.AVCSequenceHeader(testSPS, testPPS)
	if !bytes.Equal(tags[0].payload, seq) {
		t.Errorf("sequence header % x, want % x", tags[0].payload, seq)
	}
}

// Whatever a publisher sends, the converter gives players only what
// they can start from: nothing, or a sequence header first, and every
// video tag one players understand.
func FuzzTSToFLV(f *testing.F) {
	f.Add(testTS(f))
	f.Fuzz(func(t *testing.T, ts []byte) {
		tags, err := convert(ts)
		if err != nil {
			return
		}
		i := 0
		for _, g := range tags {
			if g.typeID != typeVideo {
				continue
			}
			key, seq := rtmpwire.VideoTag(g.payload)
			if i == 0 && !seq {
				t.Fatalf("first tag is not a sequence header: % x", g.payload)
			}
			if i++; i == 2 && !key {
				t.Fatalf("the first picture is not a keyframe: % x", g.payload)
			}
		}
	})
}
