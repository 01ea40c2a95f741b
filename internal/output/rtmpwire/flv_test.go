package rtmpwire

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	// x264 parameter sets for 640x360: High (preset veryfast) and Constrained Baseline.
	highSPS     = unhex("6764001eacb405017fcb8088000003000800000301e078b175")
	highPPS     = unhex("68ef0fcb")
	baselineSPS = unhex("6742c01eda0280bfe5c044000003000400000300f03c58ba80")
	baselinePPS = unhex("68ce0fc8")
)

func TestAVCSequenceHeader(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sps, pps []byte
		ext      []byte // chroma format, bit depths, no SPS extensions
	}{
		{"high", highSPS, highPPS, []byte{0xfd, 0xf8, 0xf8, 0}},
		{"baseline", baselineSPS, baselinePPS, nil},
	} {
		b, err := AVCSequenceHeader(tc.sps, tc.pps)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := []byte{0x17, 0, 0, 0, 0, 1, tc.sps[1], tc.sps[2], tc.sps[3], 0xff, 0xe1, 0, byte(len(tc.sps))}
		want = append(want, tc.sps...)
		want = append(want, 1, 0, byte(len(tc.pps)))
		want = append(want, tc.pps...)
		want = append(want, tc.ext...)
		if !bytes.Equal(b, want) {
			t.Errorf("%s:\n got %x\nwant %x", tc.name, b, want)
		}
		if key, seq := VideoTag(b); !key || !seq {
			t.Errorf("%s: VideoTag = %v, %v", tc.name, key, seq)
		}
	}
	if _, err := AVCSequenceHeader([]byte{0x67}, highPPS); err == nil {
		t.Error("a truncated SPS was accepted")
	}
}

func TestAVCFrame(t *testing.T) {
	aud := []byte{0x09, 0xf0}
	idr := []byte{0x65, 0x88, 0x84}
	b := AVCFrame([][]byte{aud, highSPS, highPPS, idr}, true, 67*time.Millisecond)
	want := []byte{0x17, 1, 0, 0, 67}
	for _, n := range [][]byte{highSPS, highPPS, idr} {
		want = append(want, 0, 0, 0, byte(len(n)))
		want = append(want, n...)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("got %x\nwant %x", b, want)
	}
	if key, seq := VideoTag(b); !key || seq {
		t.Errorf("VideoTag = %v, %v", key, seq)
	}
	p := AVCFrame([][]byte{{0x41, 0x9a}}, false, 0)
	if key, _ := VideoTag(p); key || p[0] != 0x27 {
		t.Errorf("inter frame tag %x", p)
	}
	if !AudioSequenceHeader([]byte{0xaf, 0, 0x12, 0x10}) || AudioSequenceHeader([]byte{0xaf, 1, 0x21}) {
		t.Error("AudioSequenceHeader")
	}
}

// An AAC tag says AAC, 44 kHz, 16-bit, stereo as the FLV spec wants, and
// the sequence header is told apart from a frame.
func TestAACTags(t *testing.T) {
	asc := []byte{0x11, 0x90} // AAC-LC, 48 kHz, stereo
	seq := AACSequenceHeader(asc)
	if !bytes.Equal(seq, []byte{0xaf, 0, 0x11, 0x90}) || !AudioSequenceHeader(seq) {
		t.Fatalf("sequence header % x", seq)
	}
	frame := AACFrame([]byte{0x21, 0x10})
	if !bytes.Equal(frame, []byte{0xaf, 1, 0x21, 0x10}) || AudioSequenceHeader(frame) {
		t.Fatalf("frame % x", frame)
	}
}
