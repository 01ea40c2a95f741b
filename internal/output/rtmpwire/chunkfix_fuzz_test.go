package rtmpwire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"
)

// Fuzz targets for the extended-timestamp Fixer. Run one with, for example:
//
//	go test -run '^$' -fuzz '^FuzzFixerWellFormed$' -fuzztime 20s ./internal/output/rtmpwire

// feedPieces runs a Fixer over stream cut where cuts says (each byte is the
// length of the next piece, 0 meaning an empty Feed), and returns the whole
// output.
func feedPieces(f *Fixer, stream, cuts []byte) []byte {
	if len(cuts) > 0 && bytes.Count(cuts, []byte{0}) == len(cuts) {
		cuts = append(cuts[:len(cuts):len(cuts)], 1) // empty Feeds only would never end
	}
	var out []byte
	for i := 0; len(stream) > 0; i++ {
		n := len(stream)
		if len(cuts) > 0 {
			n = min(int(cuts[i%len(cuts)]), len(stream))
		}
		out = append(out, f.Feed(stream[:n])...)
		stream = stream[n:]
	}
	return out
}

// returns runs fn and fails the test if it does not return within a few
// seconds: a Fixer must never hang whatever it is fed.
func returns(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the Fixer did not return within 10s")
	}
}

// short shows at most the first 64 bytes of b, for failure messages.
func short(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%x… (%d bytes)", b[:64], len(b))
	}
	return fmt.Sprintf("%x", b)
}

// firstDiff is the first index where a and b differ.
func firstDiff(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func newFixer(mode Mode, handshake bool) *Fixer {
	f := NewFixer(mode)
	if !handshake {
		f.skip = 0
	}
	return f
}

// Any byte stream, cut anywhere, in either mode: Feed returns, the output
// does not depend on where the stream was cut, Strip never adds bytes,
// Insert holds back at most one incomplete header, a stream with no
// 0xffffff timestamp field passes unchanged, and Strip undoes exactly what
// Insert added.
func FuzzFixerArbitrary(f *testing.F) {
	// Small seeds keep the fuzzer fast; the sizes still span several
	// chunks.
	small := func(start uint32) []msg {
		ms := testMessages(start)[1:4]
		ms[0].payload = ms[0].payload[:300]
		return ms
	}
	spec := specEncode(small(0xffffff-40), 128)
	plain := specEncode(small(1000), 128)
	setChunk := []byte{0x02, 0, 0, 0, 0, 0, 4, typeSetChunkSize, 0, 0, 0, 0, 0, 0, 0, 1}
	abort := []byte{0x02, 0xff, 0xff, 0xff, 0, 0, 4, typeAbort, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 6}
	for _, seed := range []struct {
		stream, cuts []byte
		strip, hs    bool
	}{
		{spec, nil, true, false},
		{spec, []byte{1, 7, 3}, false, false},
		{plain, []byte{0, 5}, true, false},
		{append(bytes.Repeat([]byte{0xc3}, HandshakeSize), spec...), []byte{200}, true, true},
		{append(setChunk, spec...), []byte{9}, false, false},
		{append(abort, spec[:300]...), []byte{2}, true, false},
		{[]byte{0x40, 0x01, 0xff, 0xff, 0xff}, nil, true, false},
		{[]byte{0x01, 0x00, 0x01, 0xff, 0xff, 0xff, 0, 0, 0, 9}, []byte{1}, false, false},
		{[]byte{0xc6, 0xc6, 0xc6, 0xc6}, nil, true, false},
		{nil, nil, false, true},
	} {
		f.Add(seed.stream, seed.cuts, seed.strip, seed.hs)
	}
	f.Fuzz(func(t *testing.T, stream, cuts []byte, strip, handshake bool) {
		mode := Insert
		if strip {
			mode = Strip
		}
		var whole, cut, one, inserted, back []byte
		ins := newFixer(Insert, handshake)
		returns(t, func() {
			whole = feedPieces(newFixer(mode, handshake), stream, nil)
			cut = feedPieces(newFixer(mode, handshake), stream, cuts)
			if len(stream) < 512 {
				one = feedPieces(newFixer(mode, handshake), stream, []byte{1})
			}
			inserted = feedPieces(ins, stream, cuts)
			back = feedPieces(newFixer(Strip, handshake), inserted, nil)
		})
		if !bytes.Equal(cut, whole) {
			t.Fatalf("cut at %v the output differs from byte %d:\n whole %s\n   cut %s", cuts, firstDiff(whole, cut), short(whole), short(cut))
		}
		if len(stream) < 512 && !bytes.Equal(one, whole) {
			t.Fatalf("fed byte by byte the output differs from byte %d:\n whole %s\n bytes %s", firstDiff(whole, one), short(whole), short(one))
		}
		switch mode {
		case Strip:
			if len(whole) > len(stream) {
				t.Fatalf("Strip made %d bytes of %d", len(whole), len(stream))
			}
		case Insert:
			if len(whole) < len(stream)-17 {
				t.Fatalf("Insert held back %d bytes; a header is at most 18", len(stream)-len(whole))
			}
		}
		if !bytes.Contains(stream, []byte{0xff, 0xff, 0xff}) {
			if !bytes.HasPrefix(stream, whole) || len(stream)-len(whole) > 17 {
				t.Fatalf("a stream without extended timestamps changed from byte %d:\n  in %s\n out %s", firstDiff(stream, whole), short(stream), short(whole))
			}
		}
		// Strip after Insert gives the input back, less the incomplete
		// header Insert still holds.
		if !bytes.Equal(back, stream[:len(stream)-len(ins.hdr)]) {
			t.Fatalf("Strip(Insert(x)) != x from byte %d:\n   x %s\n ins %s\nback %s", firstDiff(stream, back), short(stream), short(inserted), short(back))
		}
	})
}

// wireSrc hands out fuzz bytes as numbers, zeros once they run out.
type wireSrc struct{ b []byte }

func (s *wireSrc) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	v := s.b[0]
	s.b = s.b[1:]
	return v
}

func (s *wireSrc) bool() bool { return s.byte()&1 == 1 }
func (s *wireSrc) u16() uint32 {
	return uint32(s.byte())<<8 | uint32(s.byte())
}
func (s *wireSrc) u32() uint32 { return s.u16()<<16 | s.u16() }

// wireStream is a well-formed chunk stream written twice: as the spec says
// (the extended timestamp repeated in type-3 chunks) and as go-rtmp writes
// it (left out of them).
type wireStream struct {
	spec, bare []byte
	// ambiguous: somewhere in bare, the 4 bytes after a type-3 header of an
	// extended chunk stream equal its extended timestamp, so a reader
	// cannot tell them from one (Strip removes them, as documented).
	ambiguous bool
	// bareCut: where bare ends in a type-3 header of an extended chunk
	// stream with fewer than 4 bytes after it (Strip waits for them); -1 if
	// it does not.
	bareCut int
	csids   int // chunk streams used
}

type wireMsg struct {
	csid     uint32
	format   byte // of the first chunk
	field    uint32
	typeID   byte
	streamID uint32
	payload  []byte
}

// genWire builds a stream from fuzz bytes: Set Chunk Size messages (chunk
// sizes from 1 up), media messages on chunk stream ids that need 1-, 2- and
// 3-byte basic headers, header types 0 to 3 where the previous message on
// the chunk stream allows them, timestamps and deltas on both sides of
// 0xffffff, and up to two messages interleaved chunk by chunk.
func genWire(data []byte) wireStream {
	r := &wireSrc{b: data}
	type csState struct {
		length uint32
		typeID byte
		ext    bool
		extVal uint32
		used   bool
	}
	state := map[uint32]*csState{}
	csids := []uint32{3, 4, 63, 64, 319, 320, 65599}
	var msgs []wireMsg
	for n := 1 + int(r.byte()%10); len(msgs) < n; {
		if k := r.byte(); k%7 == 0 {
			size := 1 + r.u16()%600
			if r.bool() {
				size |= 0x80000000 // the reserved bit, which readers ignore
			}
			if r.byte()%16 == 0 {
				size = 0 // ignored by the Fixer: keep the chunk size
			}
			p := binary.BigEndian.AppendUint32(nil, size)
			msgs = append(msgs, wireMsg{csid: 2, format: 0, field: r.u32() % 0x1000000, typeID: typeSetChunkSize, payload: p})
			continue
		}
		m := wireMsg{csid: csids[r.byte()%byte(len(csids))], typeID: []byte{8, 9, 18, 20}[r.byte()%4], streamID: 1}
		length := r.u16() % 700
		if r.byte()%8 == 0 {
			length %= 5
		}
		// The payload's first bytes come from the input (so the fuzzer can
		// make them look like a timestamp), the rest from a generator.
		m.payload = make([]byte, length)
		x := uint32(r.byte())*2654435761 + 1
		for i := range m.payload {
			if i < 6 {
				m.payload[i] = r.byte()
				continue
			}
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			m.payload[i] = byte(x)
		}
		if r.bool() {
			m.field = 0xffffff + r.u32()%0x7f000000
		} else {
			m.field = r.u32() % 0xffffff
		}
		m.format = r.byte() % 4
		msgs = append(msgs, m)
	}

	w := wireStream{bareCut: -1}
	chunkSize := uint32(defaultChunkSize)
	type active struct {
		m    wireMsg
		off  int
		cs   *csState
		head bool // the first chunk is written
	}
	var slots []*active
	next := 0
	// type3Pos records, in bare, the end of each type-3 header of an
	// extended chunk stream, with the value a reader compares against.
	type pos struct {
		start, end int
		ext        uint32
	}
	var type3 []pos
	writeBasic := func(dst []byte, format byte, csid uint32) []byte {
		switch {
		case csid < 64:
			return append(dst, format<<6|byte(csid))
		case csid < 320:
			return append(dst, format<<6, byte(csid-64))
		default:
			return append(dst, format<<6|1, byte((csid-64)&0xff), byte((csid-64)>>8))
		}
	}
	for next < len(msgs) || len(slots) > 0 {
		// Start messages: a second one only on another chunk stream, and
		// never beside a Set Chunk Size (its size applies when it ends).
		for next < len(msgs) && len(slots) < 2 {
			m := msgs[next]
			if len(slots) == 1 && (slots[0].m.csid == m.csid || m.typeID == typeSetChunkSize ||
				slots[0].m.typeID == typeSetChunkSize || !r.bool()) {
				break
			}
			cs := state[m.csid]
			if cs == nil {
				cs = &csState{}
				state[m.csid] = cs
				w.csids++
			}
			// Header types a real writer could use here.
			switch {
			case !cs.used:
				m.format = 0
			case m.format == 3 && (cs.length != uint32(len(m.payload)) || cs.typeID != m.typeID):
				m.format = 1
			case m.format == 2 && (cs.length != uint32(len(m.payload)) || cs.typeID != m.typeID):
				m.format = 1
			}
			slots = append(slots, &active{m: m, cs: cs})
			next++
		}
		i := 0
		if len(slots) == 2 && r.bool() {
			i = 1
		}
		a := slots[i]
		m, cs := a.m, a.cs
		format := byte(3)
		if !a.head {
			format = m.format
		}
		hdrStart := len(w.bare)
		var hdr []byte
		hdr = writeBasic(hdr, format, m.csid)
		if format < 3 {
			field := min(m.field, 0xffffff)
			hdr = append(hdr, byte(field>>16), byte(field>>8), byte(field))
			if format < 2 {
				n := len(m.payload)
				hdr = append(hdr, byte(n>>16), byte(n>>8), byte(n), m.typeID)
				cs.length, cs.typeID = uint32(n), m.typeID
			}
			if format == 0 {
				hdr = binary.LittleEndian.AppendUint32(hdr, m.streamID)
			}
			cs.ext = m.field >= 0xffffff
			if cs.ext {
				cs.extVal = m.field
				hdr = binary.BigEndian.AppendUint32(hdr, m.field)
			}
			w.spec = append(w.spec, hdr...)
			w.bare = append(w.bare, hdr...)
		} else {
			w.spec = append(w.spec, hdr...)
			w.bare = append(w.bare, hdr...)
			if cs.ext {
				w.spec = binary.BigEndian.AppendUint32(w.spec, cs.extVal)
				type3 = append(type3, pos{hdrStart, len(w.bare), cs.extVal})
			}
		}
		cs.used = true
		a.head = true
		n := min(int(chunkSize), len(m.payload)-a.off)
		w.spec = append(w.spec, m.payload[a.off:a.off+n]...)
		w.bare = append(w.bare, m.payload[a.off:a.off+n]...)
		a.off += n
		if a.off == len(m.payload) {
			if m.typeID == typeSetChunkSize {
				if v := binary.BigEndian.Uint32(m.payload) & 0x7fffffff; v > 0 {
					chunkSize = v
				}
			}
			slots = append(slots[:i], slots[i+1:]...)
		}
	}
	for _, p := range type3 {
		if p.end+4 > len(w.bare) {
			if w.bareCut < 0 {
				w.bareCut = p.start
			}
			continue
		}
		if binary.BigEndian.Uint32(w.bare[p.end:]) == p.ext {
			w.ambiguous = true
		}
	}
	return w
}

// A well-formed stream passes the Fixer as the unit tests describe, cut
// anywhere: Strip turns the spec's form (what nginx-rtmp and FFmpeg send)
// into go-rtmp's, Insert turns go-rtmp's form into the spec's, and Strip
// leaves go-rtmp's form alone, unless its payload happens to repeat the
// extended timestamp right after a type-3 header: that cannot be told from
// a repeated timestamp and is removed, as the Fixer documents.
func FuzzFixerWellFormed(f *testing.F) {
	f.Add([]byte{3, 1, 5, 0, 4, 0, 0xaa, 0xbb, 0xcc, 0xdd, 1, 0xff, 0xff, 0xff, 0}, []byte(nil), false)
	f.Add([]byte{9, 7, 0, 200, 0, 2, 1, 3, 0, 130, 1, 0, 0, 1, 0, 3}, []byte{1, 2, 3}, true)
	f.Add(bytes.Repeat([]byte{0x5a, 0xff, 0x01, 0x80}, 64), []byte{7}, false)
	f.Add(bytes.Repeat([]byte{0x07, 0x00, 0x03, 0x01, 0x42}, 40), []byte{0, 1}, true)
	f.Add(bytes.Repeat([]byte{0xff}, 300), []byte{255}, false)
	f.Add([]byte(nil), []byte(nil), false)
	f.Fuzz(func(t *testing.T, data, cuts []byte, handshake bool) {
		w := genWire(data)
		var hs []byte
		if handshake {
			// Bytes that would look like headers, extended ones too.
			hs = bytes.Repeat([]byte{0xc3, 0x00, 0xff, 0xff, 0xff}, HandshakeSize)[:HandshakeSize]
		}
		spec, bare := append(hs[:len(hs):len(hs)], w.spec...), append(hs[:len(hs):len(hs)], w.bare...)

		var stripped, inserted, kept []byte
		returns(t, func() {
			stripped = feedPieces(newFixer(Strip, handshake), spec, cuts)
			inserted = feedPieces(newFixer(Insert, handshake), bare, cuts)
			kept = feedPieces(newFixer(Strip, handshake), bare, cuts)
		})
		if !bytes.Equal(stripped, bare) {
			t.Fatalf("Strip(spec form) is not go-rtmp's form from byte %d:\n spec %s\n  got %s\n want %s", firstDiff(stripped, bare), short(spec), short(stripped), short(bare))
		}
		if !bytes.Equal(inserted, spec) {
			t.Fatalf("Insert(go-rtmp's form) is not the spec form from byte %d:\n bare %s\n  got %s\n want %s", firstDiff(inserted, spec), short(bare), short(inserted), short(spec))
		}
		if !w.ambiguous {
			want := bare
			if w.bareCut >= 0 {
				want = bare[:len(hs)+w.bareCut]
			}
			if !bytes.Equal(kept, want) {
				t.Fatalf("Strip changed go-rtmp's form from byte %d:\n bare %s\n  got %s", firstDiff(want, kept), short(bare), short(kept))
			}
		}
	})
}
