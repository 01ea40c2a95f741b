// Package rtmpwire holds the RTMP pieces OnAir's publisher and embedded server
// share on top of go-rtmp: FLV video tags, and a connection wrapper that
// repairs go-rtmp's handling of extended timestamps on the wire.
package rtmpwire

import "encoding/binary"

// Extended timestamps (RTMP spec 5.3.1.3): when a chunk header's 24-bit
// timestamp field is 0xFFFFFF, a 4-byte extended timestamp follows it, and it
// is repeated in every type-3 chunk of that chunk stream until the next
// type-0/1/2 header (nginx-rtmp, FFmpeg and librtmp all read and write it that
// way). go-rtmp v0.0.7 writes it only in type-0/1/2 headers and never reads it
// in type-3 chunks, so any message that starts with an extended timestamp and
// spans several chunks is corrupted in both directions. Streams cross 2^24 ms
// after 4 h 40 min, so this is an ordinary case for a live broadcast.
//
// A Fixer follows one direction of the chunk stream and repairs it in flight:
// in Insert mode (bytes go-rtmp wrote) it adds the missing 4 bytes to type-3
// chunks, in Strip mode (bytes a peer sent) it removes them before go-rtmp
// parses. It tracks chunk sizes (Set Chunk Size) and message boundaries, and
// passes everything else through unchanged.

// Mode says which way a Fixer repairs.
type Mode int

const (
	// Insert adds the extended timestamp to type-3 chunks that lack it.
	Insert Mode = iota
	// Strip removes the extended timestamp from type-3 chunks.
	Strip
)

// HandshakeSize is C0+C1+C2 (or S0+S1+S2): what precedes the chunk stream in
// each direction.
const HandshakeSize = 1 + 1536 + 1536

const (
	defaultChunkSize = 128
	typeSetChunkSize = 1
	typeAbort        = 2
)

type chunkStream struct {
	length   uint32 // message length from the last type-0/1 header
	typeID   byte
	remain   uint32 // bytes left of the message being received; 0 between messages
	extended bool   // the last type-0/1/2 header carried an extended timestamp
	ext      [4]byte
	ctrl     []byte // first bytes of a Set Chunk Size or Abort message
}

// Fixer repairs one direction of an RTMP byte stream, handshake included.
type Fixer struct {
	mode      Mode
	skip      int // handshake bytes still to pass
	chunkSize uint32
	streams   map[uint32]*chunkStream

	hdr     []byte       // the chunk header being read
	cur     *chunkStream // chunk stream of the current chunk
	payload uint32       // payload bytes left in the current chunk
	out     []byte
	partial int // messages begun and not yet ended, over all chunk streams
}

// NewFixer returns a Fixer for a stream that begins with the handshake.
func NewFixer(mode Mode) *Fixer {
	return &Fixer{mode: mode, skip: HandshakeSize, chunkSize: defaultChunkSize, streams: map[uint32]*chunkStream{}}
}

// Feed takes the next bytes of the stream and returns the repaired bytes,
// valid until the next call. Bytes of an incomplete header are held back.
func (f *Fixer) Feed(in []byte) []byte {
	f.out = f.out[:0]
	for len(in) > 0 {
		switch {
		case f.skip > 0:
			n := min(f.skip, len(in))
			f.out = append(f.out, in[:n]...)
			f.skip -= n
			in = in[n:]
		case f.payload > 0:
			n := min(int(f.payload), len(in))
			f.out = append(f.out, in[:n]...)
			f.consume(in[:n])
			in = in[n:]
		default:
			f.hdr = append(f.hdr, in[0])
			in = in[1:]
			if back := f.header(); back != nil {
				// Strip mode found no extended timestamp: those bytes are payload.
				in = append(back, in...)
			}
		}
	}
	return f.out
}

// Between reports whether the stream so far ends on a message boundary:
// the handshake is over or not begun, and no message has begun without
// ending (go-rtmp interleaves the chunks of messages on different chunk
// streams).
func (f *Fixer) Between() bool {
	return f.partial == 0 && f.payload == 0 && len(f.hdr) == 0
}

// header checks whether f.hdr holds a complete chunk header; if so it emits
// it (repaired), updates the state and starts the payload. It returns bytes
// to process again when a guessed extended timestamp turned out to be payload.
func (f *Fixer) header() []byte {
	h := f.hdr
	format := h[0] >> 6
	basic := 1
	switch h[0] & 0x3f {
	case 0:
		basic = 2
	case 1:
		basic = 3
	}
	size := basic + [4]int{11, 7, 3, 0}[format]
	if len(h) < size {
		return nil
	}
	csid := uint32(h[0] & 0x3f)
	switch basic {
	case 2:
		csid = uint32(h[1]) + 64
	case 3:
		csid = uint32(h[2])*256 + uint32(h[1]) + 64
	}
	cs := f.streams[csid]
	if cs == nil {
		cs = &chunkStream{}
		f.streams[csid] = cs
	}

	var back []byte
	if format < 3 {
		mh := h[basic:]
		if mh[0] == 0xff && mh[1] == 0xff && mh[2] == 0xff {
			if len(h) < size+4 {
				return nil
			}
			cs.extended = true
			copy(cs.ext[:], h[size:size+4])
		} else {
			cs.extended = false
		}
		if format < 2 {
			cs.length = uint32(mh[3])<<16 | uint32(mh[4])<<8 | uint32(mh[5])
			cs.typeID = mh[6]
		}
		f.out = append(f.out, h...)
	} else if cs.extended {
		switch f.mode {
		case Insert:
			f.out = append(f.out, h...)
			f.out = append(f.out, cs.ext[:]...)
		case Strip:
			if len(h) < size+4 {
				return nil
			}
			f.out = append(f.out, h[:size]...)
			// Some senders leave it out; then the 4 bytes are payload.
			if [4]byte(h[size:size+4]) != cs.ext {
				back = append([]byte(nil), h[size:size+4]...)
			}
		}
	} else {
		f.out = append(f.out, h...)
	}
	f.hdr = f.hdr[:0]

	if cs.remain == 0 {
		cs.remain = cs.length
		cs.ctrl = cs.ctrl[:0]
		if cs.remain > 0 {
			f.partial++
		}
	}
	f.cur = cs
	f.payload = min(f.chunkSize, cs.remain)
	if f.payload == 0 {
		f.endMessage()
	}
	return back
}

// consume accounts for payload bytes of the current chunk.
func (f *Fixer) consume(p []byte) {
	cs := f.cur
	if (cs.typeID == typeSetChunkSize || cs.typeID == typeAbort) && len(cs.ctrl) < 4 {
		cs.ctrl = append(cs.ctrl, p[:min(len(p), 4-len(cs.ctrl))]...)
	}
	n := uint32(len(p))
	f.payload -= n
	cs.remain -= n
	if cs.remain == 0 {
		f.partial--
		f.endMessage()
	}
}

func (f *Fixer) endMessage() {
	cs := f.cur
	f.payload = 0
	if len(cs.ctrl) < 4 {
		return
	}
	v := binary.BigEndian.Uint32(cs.ctrl)
	switch cs.typeID {
	case typeSetChunkSize:
		if v &= 0x7fffffff; v > 0 {
			f.chunkSize = v
		}
	case typeAbort:
		if s := f.streams[v]; s != nil && s.remain > 0 {
			s.remain = 0
			f.partial--
		}
	}
}
