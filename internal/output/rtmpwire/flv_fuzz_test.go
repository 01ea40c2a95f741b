package rtmpwire

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// Fuzz targets for the FLV video tags. Run one with, for example:
//
//	go test -run '^$' -fuzz '^FuzzAVCFrame$' -fuzztime 20s ./internal/output/rtmpwire

// decoderConfig is an AVCDecoderConfigurationRecord read back from a
// sequence header tag.
type decoderConfig struct {
	profile, compat, level byte
	sps, pps               []byte
	ext                    []byte // chroma format, bit depths, SPS extension count
}

// parseSequenceHeader reads a video tag written by AVCSequenceHeader, by ISO
// 14496-15 5.3.3.1; it fails the test on any deviation from the layout.
func parseSequenceHeader(t *testing.T, b []byte) decoderConfig {
	t.Helper()
	if len(b) < 5+6 || !bytes.Equal(b[:5], []byte{0x17, 0, 0, 0, 0}) {
		t.Fatalf("tag header %x, want a keyframe AVC sequence header with no composition time", b[:min(len(b), 5)])
	}
	r := b[5:]
	if r[0] != 1 || r[4] != 0xff || r[5] != 0xe1 {
		t.Fatalf("record begins %x: want version 1, 4-byte lengths, one SPS", r[:6])
	}
	c := decoderConfig{profile: r[1], compat: r[2], level: r[3]}
	r = r[6:]
	take := func(what string) []byte {
		if len(r) < 2 || len(r) < 2+int(binary.BigEndian.Uint16(r)) {
			t.Fatalf("record ends inside the %s", what)
		}
		n := int(binary.BigEndian.Uint16(r))
		p := r[2 : 2+n]
		r = r[2+n:]
		return p
	}
	c.sps = take("SPS")
	if len(r) < 1 || r[0] != 1 {
		t.Fatalf("PPS count %x, want 1", r[:min(len(r), 1)])
	}
	r = r[1:]
	c.pps = take("PPS")
	c.ext = r
	return c
}

// An SPS/PPS pair either is refused with an error, or gives a sequence
// header whose decoder configuration record parses back to exactly that
// SPS and PPS, declares the SPS's own profile and level, and carries the
// chroma/bit-depth extension exactly for the profiles that have one.
func FuzzAVCSequenceHeader(f *testing.F) {
	f.Add(highSPS, highPPS)
	f.Add(baselineSPS, baselinePPS)
	f.Add(unhex("674d401eec0500"), highPPS)                           // Main
	f.Add(unhex("6758001e"), baselinePPS)                             // Extended, truncated
	f.Add(unhex("67f4001e"), highPPS)                                 // High 4:4:4, truncated
	f.Add(unhex("6764001eacb405017fcb8088000003000800"), []byte(nil)) // no PPS
	f.Add([]byte{0x67}, highPPS)
	f.Add([]byte{0x68, 0xef}, []byte{0x67})
	f.Add([]byte(nil), []byte(nil))
	f.Fuzz(func(t *testing.T, sps, pps []byte) {
		b, err := AVCSequenceHeader(sps, pps)
		if err != nil {
			if b != nil {
				t.Fatalf("error %v, and a tag %x", err, b)
			}
			return
		}
		var s h264.SPS
		if err := s.Unmarshal(sps); err != nil {
			t.Fatalf("accepted an SPS mediacommon refuses: %v", err)
		}
		if len(pps) == 0 {
			t.Fatal("accepted an empty PPS")
		}
		if len(sps) > 0xffff || len(pps) > 0xffff {
			t.Fatalf("accepted a %d-byte SPS and a %d-byte PPS; the record's lengths are 16 bits", len(sps), len(pps))
		}
		if key, seq := VideoTag(b); !key || !seq {
			t.Fatalf("VideoTag = %v, %v for a sequence header", key, seq)
		}
		c := parseSequenceHeader(t, b)
		if !bytes.Equal(c.sps, sps) || !bytes.Equal(c.pps, pps) {
			t.Fatalf("record carries SPS %x and PPS %x, want %x and %x", c.sps, c.pps, sps, pps)
		}
		// The record copies the SPS's second to fourth bytes; they are its
		// profile, constraint flags and level unless an emulation
		// prevention byte sits among them (profile and flags both zero,
		// which no real profile has).
		if sps[1] != 0 || sps[2] != 0 {
			if c.profile != s.ProfileIdc || c.level != s.LevelIdc {
				t.Fatalf("record says profile %d level %d, the SPS %d %d", c.profile, c.level, s.ProfileIdc, s.LevelIdc)
			}
		}
		switch s.ProfileIdc {
		case 66, 77, 88:
			if len(c.ext) != 0 {
				t.Fatalf("profile %d: %d bytes after the PPS, want none", s.ProfileIdc, len(c.ext))
			}
		default:
			if len(c.ext) != 4 || c.ext[0]&0xfc != 0xfc || c.ext[1]&0xf8 != 0xf8 || c.ext[2]&0xf8 != 0xf8 || c.ext[3] != 0 {
				t.Fatalf("profile %d: extension %x, want 4 bytes with reserved bits set and no SPS extensions", s.ProfileIdc, c.ext)
			}
			if s.ChromaFormatIdc <= 3 && uint32(c.ext[0]&3) != s.ChromaFormatIdc {
				t.Fatalf("record says chroma format %d, the SPS %d", c.ext[0]&3, s.ChromaFormatIdc)
			}
		}
	})
}

// splitAU turns fuzz bytes into NAL units: a length byte, then that many
// bytes (fewer at the end).
func splitAU(b []byte) [][]byte {
	var au [][]byte
	for len(b) > 0 {
		n := min(int(b[0]), len(b)-1)
		au = append(au, b[1:1+n])
		b = b[1+n:]
	}
	return au
}

// An access unit becomes a coded-frame tag whose AVCC payload holds exactly
// its NAL units in order, minus empty ones and access unit delimiters, with
// the key flag given and the composition time in milliseconds (never
// negative); VideoTag reads the key flag back and never takes it for a
// sequence header.
func FuzzAVCFrame(f *testing.F) {
	aud, idr, p := []byte{0x09, 0xf0}, []byte{0x65, 0x88, 0x84}, []byte{0x41, 0x9a}
	join := func(au ...[]byte) []byte {
		var b []byte
		for _, n := range au {
			b = append(append(b, byte(len(n))), n...)
		}
		return b
	}
	f.Add(join(aud, highSPS, highPPS, idr), true, int64(67*time.Millisecond))
	f.Add(join(p), false, int64(0))
	f.Add(join(aud), false, int64(-time.Second))
	f.Add(join(nil, idr, nil), true, int64(999*time.Microsecond))
	f.Add(join([]byte{0x29}, []byte{0x00}, []byte{0x1f}), false, int64(1<<23*time.Millisecond-1))
	f.Add([]byte(nil), true, int64(0))
	f.Fuzz(func(t *testing.T, auBytes []byte, key bool, ctsNanos int64) {
		au := splitAU(auBytes)
		cts := time.Duration(ctsNanos)
		b := AVCFrame(au, key, cts)
		if len(b) < 5 {
			t.Fatalf("%d-byte tag", len(b))
		}
		wantHead := byte(0x27)
		if key {
			wantHead = 0x17
		}
		if b[0] != wantHead || b[1] != 1 {
			t.Fatalf("tag header %x, want %x 01", b[:2], wantHead)
		}
		if k, seq := VideoTag(b); k != key || seq {
			t.Fatalf("VideoTag = %v, %v for a frame with key %v", k, seq, key)
		}
		// The composition time is a signed 24-bit field (SI24).
		got := int64(int32(uint32(b[2])<<24|uint32(b[3])<<16|uint32(b[4])<<8) >> 8)
		// Clamped into the field's range, never wrapped.
		if want := min(max(cts.Milliseconds(), 0), 1<<23-1); got != want {
			t.Fatalf("composition time %d ms, want %d (from %v)", got, want, cts)
		}
		var want [][]byte
		for _, n := range au {
			if len(n) > 0 && h264.NALUType(n[0]&0x1f) != h264.NALUTypeAccessUnitDelimiter {
				want = append(want, n)
			}
		}
		var back [][]byte
		for r := b[5:]; len(r) > 0; {
			if len(r) < 4 || uint64(len(r)-4) < uint64(binary.BigEndian.Uint32(r)) {
				t.Fatalf("AVCC payload ends inside a NAL unit: %x", b[5:])
			}
			n := int(binary.BigEndian.Uint32(r))
			back = append(back, r[4:4+n])
			r = r[4+n:]
		}
		if len(back) != len(want) {
			t.Fatalf("%d NAL units in the tag, want %d", len(back), len(want))
		}
		for i := range want {
			if !bytes.Equal(back[i], want[i]) {
				t.Fatalf("NAL unit %d: %x, want %x", i, back[i], want[i])
			}
		}
		// mediacommon's AVCC reader agrees, within its limits.
		if len(want) > 0 && len(want) <= h264.MaxNALUsPerAccessUnit {
			var avcc h264.AVCC
			if err := avcc.Unmarshal(b[5:]); err != nil {
				t.Fatalf("mediacommon cannot read the AVCC payload: %v", err)
			}
			if len(avcc) != len(want) {
				t.Fatalf("mediacommon reads %d NAL units, want %d", len(avcc), len(want))
			}
		}
	})
}

// VideoTag and AudioSequenceHeader read any bytes without panicking, decide
// from the first two bytes only (so a truncated body is classified alike),
// and agree with what the tag builders write.
func FuzzVideoTag(f *testing.F) {
	seq, _ := AVCSequenceHeader(highSPS, highPPS)
	for _, seed := range [][]byte{
		nil, {0x17}, {0x17, 0}, {0x27, 1, 0, 0, 0}, seq, AVCEndOfSequence(),
		AVCFrame([][]byte{{0x65, 1}}, true, 0), {0x1c, 0}, {0x90, 0}, {0x9c, 'h', 'v', 'c', '1'},
		{0xa1, 'a', 'v', '0', '1'}, {0xaf, 0, 0x12, 0x10}, {0xaf, 1},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		key, seqHeader := VideoTag(b)
		audio := AudioSequenceHeader(b)
		if len(b) > 2 {
			k2, s2 := VideoTag(b[:2])
			if k2 != key || s2 != seqHeader || AudioSequenceHeader(b[:2]) != audio {
				t.Fatalf("%x: the body past byte 2 changed the classification", b)
			}
		}
		if len(b) == 0 && (key || seqHeader || audio) {
			t.Fatal("an empty tag classified as something")
		}
		if len(b) > 0 {
			b0 := b[0]
			if b0&0x80 == 0 && b0&0x0f != flvCodecAVC && b0&0x0f != 12 && seqHeader {
				t.Fatalf("%x: a classic tag of codec %d taken for a sequence header", b, b0&0x0f)
			}
			if b0&0x80 == 0 && key != (b0>>4 == 1) {
				t.Fatalf("%x: key %v for frame type %d", b, key, b0>>4)
			}
		}
		if len(b) > 0 && b[0]&0x80 == 0 && b[0]&0x0f == flvCodecAVC {
			// What AVCFrame writes for the same flag is never a sequence
			// header, and keeps the key flag.
			au := splitAU(b)
			if k, s := VideoTag(AVCFrame(au, key, 0)); k != key || s {
				t.Fatalf("AVCFrame with key %v classified as %v, %v", key, k, s)
			}
		}
	})
}

// Annex-B as the encoder writes it, split into NAL units and turned into an
// AVCC frame tag, reads back (as AVCC) as the same NAL units in order,
// minus access unit delimiters; bytes that are not Annex-B are refused,
// never half-converted.
func FuzzAnnexBToAVCC(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80, 0, 0, 1, 0x65, 0x88, 0x84})
	f.Add([]byte{0, 0, 1, 0x41, 0x9a, 0, 0, 3, 1})
	f.Add([]byte{0, 0, 1})
	f.Add([]byte{0x65, 0, 0, 1})
	f.Fuzz(func(t *testing.T, annexB []byte) {
		var au h264.AnnexB
		if err := au.Unmarshal(annexB); err != nil {
			return
		}
		var want [][]byte
		for _, n := range au {
			if len(n) > 0 && h264.NALUType(n[0]&0x1f) != h264.NALUTypeAccessUnitDelimiter {
				want = append(want, n)
			}
		}
		tag := AVCFrame(au, h264.IsRandomAccess(au), 0)
		if len(want) == 0 {
			if len(tag) != 5 {
				t.Fatalf("%d-byte tag for an access unit with nothing to send", len(tag))
			}
			return
		}
		var got h264.AVCC
		if err := got.Unmarshal(tag[5:]); err != nil {
			t.Fatalf("the tag's payload is not AVCC: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d NAL units read back, want %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("NAL unit %d read back as %x, want %x", i, got[i], want[i])
			}
		}
	})
}
