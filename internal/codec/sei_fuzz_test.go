package codec

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// Fuzz targets for the capture-time SEI: building it, finding it again in
// access units given as NAL units or as Annex-B, and placing it in an access
// unit. Run one with, for example:
//
//	go test -run '^$' -fuzz '^FuzzCaptureTimeSEI$' -fuzztime 20s ./internal/codec

// splitNALUs turns fuzz bytes into NAL units: each is a length byte and then
// that many bytes (fewer at the end). Empty NAL units are possible.
func splitNALUs(b []byte) [][]byte {
	var au [][]byte
	for len(b) > 0 {
		n := min(int(b[0]), len(b)-1)
		au = append(au, b[1:1+n])
		b = b[1+n:]
	}
	return au
}

// joinNALUs is the inverse of splitNALUs for NAL units under 256 bytes.
func joinNALUs(au ...[]byte) []byte {
	var b []byte
	for _, n := range au {
		b = append(b, byte(len(n)))
		b = append(b, n...)
	}
	return b
}

// wellEscaped reports whether nalu's payload obeys H.264 7.4.1: no 00 00 00,
// 00 00 01 or 00 00 02 anywhere, every 00 00 03 is followed by a byte <= 3
// (or ends the unit), and the last byte is not zero.
func wellEscaped(nalu []byte) bool {
	if len(nalu) == 0 || nalu[len(nalu)-1] == 0 {
		return false
	}
	for i := 2; i < len(nalu); i++ {
		if nalu[i-2] != 0 || nalu[i-1] != 0 {
			continue
		}
		switch {
		case nalu[i] <= 2:
			return false
		case nalu[i] == 3 && i+1 < len(nalu) && nalu[i+1] > 3:
			return false
		}
	}
	return true
}

// annexBSafe reports whether every NAL unit survives Annex-B framing: it is
// not empty, holds no start code and does not end in a zero byte (which a
// reader takes as part of the next start code).
func annexBSafe(au [][]byte) bool {
	for _, n := range au {
		if len(n) == 0 || n[len(n)-1] == 0 {
			return false
		}
		for i := 2; i < len(n); i++ {
			if n[i-2] == 0 && n[i-1] == 0 && n[i] <= 1 {
				return false
			}
		}
	}
	return true
}

// seiMessage codes one sei_message() (H.264 7.3.2.3.1): type and size as
// runs of 0xff plus a last byte, then the payload.
func seiMessage(typ int, payload []byte) []byte {
	var b []byte
	for _, v := range []int{typ, len(payload)} {
		for ; v >= 255; v -= 255 {
			b = append(b, 0xff)
		}
		b = append(b, byte(v))
	}
	return append(b, payload...)
}

// ourPayload is the 24-byte user_data_unregistered payload for us.
func ourPayload(us int64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), captureTimeUUID[:]...), uint64(us))
}

// CaptureTimeSEI round-trips every representable time: the NAL unit is
// properly escaped, unescapes to exactly the documented 24-byte payload, and
// is found again both as a NAL unit and inside Annex-B; inserted into any
// access unit it lands right before the first slice, leaves the other NAL
// units in order, and is what ParseCaptureTime finds unless the access unit
// already carried a capture time before its first slice.
func FuzzCaptureTimeSEI(f *testing.F) {
	aud, sps, pps := []byte{9, 0xf0}, []byte{0x67, 0x42, 0xc0, 0x1e}, []byte{0x68, 0xce, 0x0f, 0xc8}
	idr, p := []byte{0x65, 0x88, 0x84, 0x21}, []byte{0x41, 0x9a, 0x02}
	x264sei := []byte{6, 5, 1, 0, 0x80}
	other := CaptureTimeSEI(time.UnixMicro(42))
	for _, c := range []struct {
		us int64
		ns uint16
		au []byte
	}{
		{0, 0, nil},
		{1, 999, joinNALUs(idr)},
		{0x0000_0003_0000_0000, 0, joinNALUs(aud, sps, pps, x264sei, idr, idr)},
		{0x0100_0000_0000_0002, 1, joinNALUs(aud, p)},
		{1_772_366_400_123_456, 500, joinNALUs(sps, pps, idr)},
		{-1, 0, joinNALUs(other, idr)},
		{-1 << 63, 999, joinNALUs(idr, other)},
		{1<<63 - 1, 999, joinNALUs(aud, []byte{}, p)},
		{0x0000_0000_0003_0000, 7, joinNALUs([]byte{}, []byte{0x06}, []byte{0x06, 0x05})},
	} {
		f.Add(c.us, c.ns, c.au)
	}
	f.Fuzz(func(t *testing.T, us int64, ns uint16, auBytes []byte) {
		// Any time, also between microseconds: the SEI keeps the
		// microsecond it falls in (rounded down, as Time.UnixMicro does).
		tm := time.UnixMicro(us).Add(time.Duration(ns % 1000))
		want := time.UnixMicro(us)
		nalu := CaptureTimeSEI(tm)
		if nalu[0] != naluSEI {
			t.Fatalf("NAL header %#x, want an SEI (6)", nalu[0])
		}
		if !wellEscaped(nalu[1:]) {
			t.Fatalf("%d: badly escaped SEI %x", us, nalu)
		}
		rbsp := append(append([]byte{seiUserDataUnreg, captureTimePayload}, ourPayload(us)...), 0x80)
		if got := h264.EmulationPreventionRemove(nalu[1:]); !bytes.Equal(got, rbsp) {
			t.Fatalf("%d: SEI unescapes to %x, want %x", us, got, rbsp)
		}
		if got, ok := ParseCaptureTime([][]byte{nalu}); !ok || !got.Equal(want) {
			t.Fatalf("%d: parsed back as %v (%v), want %v", us, got, ok, want)
		}
		annexB, _ := h264.AnnexB{nalu}.Marshal()
		if got, ok := ParseCaptureTimeAnnexB(annexB); !ok || !got.Equal(want) {
			t.Fatalf("%d: Annex-B parsed back as %v (%v), want %v", us, got, ok, want)
		}

		orig := splitNALUs(auBytes)
		got := insertSEI(orig, nalu)
		if len(got) != len(orig)+1 {
			t.Fatalf("%d NAL units after inserting into %d", len(got), len(orig))
		}
		// The documented place: after every NAL unit that precedes the
		// first slice.
		at := 0
		for at < len(orig) && !isVCL(orig[at]) {
			at++
		}
		if len(got[at]) == 0 || &got[at][0] != &nalu[0] {
			t.Fatalf("position %d holds %x, not the SEI", at, got[at])
		}
		rest := append(append([][]byte{}, got[:at]...), got[at+1:]...)
		for i := range rest {
			if !bytes.Equal(rest[i], orig[i]) {
				t.Fatalf("NAL unit %d changed or moved", i)
			}
		}
		for i := 0; i < at; i++ {
			if isVCL(got[i]) {
				t.Fatalf("SEI at %d, after the slice at %d", at, i)
			}
		}
		if at+1 < len(got) && !isVCL(got[at+1]) {
			t.Fatalf("SEI at %d is not right before the first slice (%x follows)", at, got[at+1])
		}
		found, ok := ParseCaptureTime(got)
		if earlier, had := ParseCaptureTime(orig[:at]); had {
			if !ok || !found.Equal(earlier) {
				t.Fatalf("found %v (%v), want the earlier capture time %v", found, ok, earlier)
			}
		} else if !ok || !found.Equal(want) {
			t.Fatalf("found %v (%v) after insertion, want %v", found, ok, want)
		}
		// Through Annex-B, when the other NAL units can be framed at all.
		if annexBSafe(orig) {
			b, _ := h264.AnnexB(got).Marshal()
			var back h264.AnnexB
			if err := back.Unmarshal(b); err != nil {
				t.Fatalf("Annex-B of the access unit does not parse: %v", err)
			}
			if len(back) != len(got) {
				t.Fatalf("Annex-B gave %d NAL units back, want %d", len(back), len(got))
			}
			if at, ok := ParseCaptureTimeAnnexB(b); !ok || !at.Equal(found) {
				t.Fatalf("Annex-B: %v (%v), want %v", at, ok, found)
			}
		}
	})
}

// ParseCaptureTime on arbitrary input never panics, and only reports a time
// that an SEI NAL unit in the input really carries after our UUID; an SEI
// holding any other message before ours (any type, any size, sizes coded
// with 0xff runs) still yields ours.
func FuzzParseCaptureTime(f *testing.F) {
	ours := CaptureTimeSEI(time.UnixMicro(1_700_000_000_123_456))
	annexB, _ := h264.AnnexB{{0x67, 0x42}, ours, {0x65, 0x88}}.Marshal()
	for _, seed := range [][]byte{
		nil,
		{6},
		{6, 5},
		{6, 5, 200, 1},
		{6, 0xff, 0xff},
		ours,
		annexB,
		joinNALUs([]byte{0x67, 1, 2}, ours, []byte{0x65, 0x88}),
		append([]byte{6, 6, 1, 0x84}, ours[1:]...),
		append([]byte{6, 5, 0xff, 0x05}, bytes.Repeat([]byte{0xaa}, 260)...),
		{0, 0, 1, 6, 5, 24},
		{0, 0, 0, 1},
		{1, 2, 1, 3},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// carried reports whether some SEI NAL unit of au holds our UUID
		// and then tm's microseconds.
		carried := func(au [][]byte, tm time.Time) bool {
			needle := ourPayload(tm.UnixMicro())
			for _, n := range au {
				if len(n) > 1 && n[0]&0x1f == naluSEI && bytes.Contains(h264.EmulationPreventionRemove(n[1:]), needle) {
					return true
				}
			}
			return false
		}
		for _, au := range [][][]byte{{data}, splitNALUs(data)} {
			if tm, ok := ParseCaptureTime(au); ok && !carried(au, tm) {
				t.Fatalf("reported %v, which no SEI in %x carries", tm, au)
			}
		}
		if tm, ok := ParseCaptureTimeAnnexB(data); ok {
			var au h264.AnnexB
			if err := au.Unmarshal(data); err != nil {
				t.Fatalf("reported %v from input that is not Annex-B: %v", tm, err)
			}
			if again, ok2 := ParseCaptureTime(au); !ok2 || !again.Equal(tm) {
				t.Fatalf("Annex-B gave %v, its NAL units %v (%v)", tm, again, ok2)
			}
		}

		// Our message after a foreign one made of the input: data[0] picks
		// the type (0..255+), the rest is its payload.
		if len(data) == 0 {
			return
		}
		typ := int(data[0])
		if typ == 0xff {
			typ = 300 // a type that needs a 0xff run too
		}
		us := int64(binary.BigEndian.Uint64(append(make([]byte, 8), data...)[len(data):]))
		rbsp := append(seiMessage(typ, data[1:]), seiMessage(seiUserDataUnreg, ourPayload(us))...)
		rbsp = append(rbsp, 0x80)
		nalu := append([]byte{naluSEI}, emulationPreventionAdd(rbsp)...)
		want := time.UnixMicro(us)
		if typ == seiUserDataUnreg && len(data)-1 >= captureTimePayload && bytes.Equal(data[1:17], captureTimeUUID[:]) {
			want = time.UnixMicro(int64(binary.BigEndian.Uint64(data[17:25]))) // the first message is ours too
		}
		if got, ok := ParseCaptureTime([][]byte{nalu}); !ok || !got.Equal(want) {
			t.Fatalf("SEI with a %d-byte type-%d message first: got %v (%v), want %v", len(data)-1, typ, got, ok, want)
		}
	})
}

// Emulation prevention round-trips any RBSP: what emulationPreventionAdd
// writes obeys H.264 7.4.1 and mediacommon's remover gives the input back.
func FuzzEmulationPrevention(f *testing.F) {
	for _, seed := range [][]byte{nil, {0}, {0, 0}, {0, 0, 0}, {0, 0, 1}, {0, 0, 2}, {0, 0, 3}, {0, 0, 4},
		{0, 0, 3, 0, 0, 3}, {0, 0, 0, 0, 1}, {1, 0, 0, 0, 0, 0, 0, 0x80}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rbsp []byte) {
		esc := emulationPreventionAdd(rbsp)
		if len(esc) < len(rbsp) || len(esc) > len(rbsp)+len(rbsp)/2+1 {
			t.Fatalf("escaped %d bytes into %d", len(rbsp), len(esc))
		}
		// The last byte may be a zero here (an RBSP ends in its stop bit in
		// real use), so check the body with a stop byte appended.
		if !wellEscaped(append(append([]byte(nil), esc...), 0x80)) {
			t.Fatalf("%x escaped to %x, which still holds a start-code-like run", rbsp, esc)
		}
		if back := h264.EmulationPreventionRemove(esc); !bytes.Equal(back, rbsp) {
			t.Fatalf("%x escaped to %x and came back as %x", rbsp, esc, back)
		}
		if !bytes.Contains(rbsp, []byte{0, 0}) && !bytes.Equal(esc, rbsp) {
			t.Fatalf("%x has no zero run but was changed to %x", rbsp, esc)
		}
	})
}
