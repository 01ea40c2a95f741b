package codec

import (
	"bytes"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// hasStartCodeLike reports a 00 00 0x (x <= 2) run, which must never occur
// inside a NAL unit (00 00 03 is the escape itself).
func hasStartCodeLike(b []byte) bool {
	for i := 2; i < len(b); i++ {
		if b[i-2] == 0 && b[i-1] == 0 && b[i] <= 2 {
			return true
		}
	}
	return false
}

// Times whose big-endian microseconds contain zero runs still round-trip,
// because emulation prevention escapes them.
func TestCaptureTimeSEIRoundTrip(t *testing.T) {
	times := []time.Time{
		time.UnixMicro(0),
		time.UnixMicro(1),
		time.UnixMicro(0x0000_0003_0000_0000),
		time.UnixMicro(0x0100_0000_0000_0002),
		time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC),
		time.Now().Truncate(time.Microsecond),
	}
	escaped := false
	for _, tm := range times {
		nalu := CaptureTimeSEI(tm)
		if nalu[0] != 6 {
			t.Fatalf("NAL type byte %#x", nalu[0])
		}
		if hasStartCodeLike(nalu[1:]) {
			t.Fatalf("%v: unescaped zero run in %x", tm, nalu)
		}
		if len(nalu) > 1+2+24+1 {
			escaped = true
		}
		got, ok := ParseCaptureTime([][]byte{{0x67, 1, 2}, nalu, {0x65, 0x88}})
		if !ok || !got.Equal(tm) {
			t.Fatalf("%v came back as %v (%v)", tm, got, ok)
		}
		annexB, _ := h264.AnnexB{nalu}.Marshal()
		if got, ok := ParseCaptureTimeAnnexB(annexB); !ok || !got.Equal(tm) {
			t.Fatalf("Annex-B: %v came back as %v (%v)", tm, got, ok)
		}
	}
	if !escaped {
		t.Fatal("no test time needed an emulation-prevention byte")
	}
}

// Other SEI messages, foreign UUIDs and garbage are not mistaken for ours.
func TestParseCaptureTimeIgnoresOthers(t *testing.T) {
	foreign := append([]byte{6, 5, 24}, bytes.Repeat([]byte{0xaa}, 24)...)
	foreign = append(foreign, 0x80)
	if _, ok := ParseCaptureTime([][]byte{foreign, {0x65, 0x88}}); ok {
		t.Fatal("foreign UUID accepted")
	}
	for _, junk := range [][]byte{{6}, {6, 5}, {6, 5, 200, 1}, {6, 0xff, 0xff}, {}} {
		if _, ok := ParseCaptureTime([][]byte{junk}); ok {
			t.Fatalf("%x accepted", junk)
		}
	}
	// Ours as the second message of an SEI NAL, after a recovery point.
	tm := time.UnixMicro(1_700_000_000_123_456)
	ours := CaptureTimeSEI(tm)
	both := append([]byte{6, 6, 1, 0x84}, ours[1:]...)
	if got, ok := ParseCaptureTime([][]byte{both}); !ok || !got.Equal(tm) {
		t.Fatalf("second message: %v %v", got, ok)
	}
	if _, ok := ParseCaptureTimeAnnexB([]byte{1, 2, 3}); ok {
		t.Fatal("non-Annex-B accepted")
	}
}

// The SEI goes after AUD, SPS, PPS and other SEI, right before the first
// slice.
func TestInsertSEIPlacement(t *testing.T) {
	aud, sps, pps, x264sei := []byte{9, 0xf0}, []byte{0x67, 1}, []byte{0x68, 2}, []byte{6, 5, 1, 0, 0x80}
	idr1, idr2 := []byte{0x65, 1}, []byte{0x65, 2}
	ours := CaptureTimeSEI(time.UnixMicro(5))
	got := insertSEI([][]byte{aud, sps, pps, x264sei, idr1, idr2}, ours)
	want := [][]byte{aud, sps, pps, x264sei, ours, idr1, idr2}
	if len(got) != len(want) {
		t.Fatalf("%d NAL units", len(got))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("position %d: %x, want %x", i, got[i], want[i])
		}
	}
	p := []byte{0x41, 9}
	if got := insertSEI([][]byte{aud, p}, ours); !bytes.Equal(got[1], ours) || !bytes.Equal(got[2], p) {
		t.Fatalf("P-frame AU: %x", got)
	}
}

// Every access unit the encoder emits carries the capture time given with
// its frame, exactly (to the microsecond), before its first slice, and the
// stream still decodes cleanly.
func TestEncoderCarriesCaptureTime(t *testing.T) {
	const n = 45
	e := mustOpen(t, Settings{Backend: BackendX264, Width: testW, Height: testH, KeyframeSeconds: 1})
	f := mustFrame(t, I420, testW, testH)
	base := time.Now()
	var pkts []Packet
	var want []time.Time
	for i := 0; i < n; i++ {
		if err := f.FromRGBA(pattern(i, testW, testH)); err != nil {
			t.Fatal(err)
		}
		capture := base.Add(time.Duration(i)*33*time.Millisecond + time.Duration(i*i)*time.Microsecond)
		want = append(want, capture.Truncate(time.Microsecond))
		p, err := e.Encode(f, time.Duration(i)*frameDur(30), capture, false)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p...)
	}
	if len(pkts) != n {
		t.Fatalf("%d packets", len(pkts))
	}
	var prev time.Time
	for i, p := range pkts {
		got, ok := ParseCaptureTimeAnnexB(annexB(t, p))
		if !ok || !got.Equal(want[i]) || !p.CaptureTime.Equal(want[i]) {
			t.Fatalf("AU %d: capture %v (%v), Packet.CaptureTime %v, want %v", i, got, ok, p.CaptureTime, want[i])
		}
		if !got.After(prev) {
			t.Fatalf("AU %d: capture time %v does not increase", i, got)
		}
		prev = got
		seiAt, vclAt := -1, -1
		for j, nalu := range p.NALUs {
			if _, ok := ParseCaptureTime([][]byte{nalu}); ok && seiAt < 0 {
				seiAt = j
			}
			if isVCL(nalu) && vclAt < 0 {
				vclAt = j
			}
		}
		if seiAt < 0 || seiAt != vclAt-1 {
			t.Fatalf("AU %d: SEI at %d, first slice at %d", i, seiAt, vclAt)
		}
	}
	if msg := decodeErrors(t, writeStream(t, pkts)); msg != "" {
		t.Fatalf("decode errors: %s", msg)
	}
}
