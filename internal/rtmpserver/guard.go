package rtmpserver

import (
	"encoding/binary"
	"fmt"

	"github.com/onair-studio/onair/internal/output/rtmpwire"
)

// What one client may make the server hold. go-rtmp buffers each chunk
// stream's message until it is complete and keeps that buffer for the life of
// the connection, so without these a client that declares big messages on
// many chunk streams and never finishes them grows the master without bound.
// Playing needs no key, so until a client publishes with the key it gets room
// for commands only.
const (
	maxChunkStreams = 16      // chunk stream ids per connection; clients use a handful
	maxChunkSize    = 1 << 20 // largest Set Chunk Size accepted; clients use 4096..65536

	// A client that does not publish: connect, play and the like are a few
	// hundred bytes.
	setupMessageBytes = 64 << 10
	setupHeldBytes    = 64 << 10
	// A publisher: a 4K keyframe fits.
	publishMessageBytes = 8 << 20
	publishHeldBytes    = 32 << 20
)

// RTMP message types the guard looks into.
const (
	typeSetChunkSize = 1
	typeCommandAMF3  = 17
	typeCommand      = 20
)

// decoded reports whether go-rtmp decodes a message of this type with
// go-amf0, which trusts the lengths written in it (see rtmpwire.CheckAMF0).
func decoded(typeID byte) bool { return typeID == typeCommand || typeID == typeData }

// guard follows the chunk stream a client sends, as go-rtmp will parse it
// (after rtmpwire's repair), and refuses it before go-rtmp buffers more than
// the client may make it hold:
//   - at most maxChunkStreams chunk streams;
//   - a Set Chunk Size of 1..maxChunkSize;
//   - audio and video only from a publisher;
//   - commands and metadata only when every AMF0 length in them fits;
//   - each message at most setupMessageBytes (publishMessageBytes for a
//     publisher), and the largest message declared on each chunk stream,
//     summed over them, at most setupHeldBytes (publishHeldBytes): that is
//     what go-rtmp's buffers keep.
//
// The handler makes a client a publisher once it accepts its key. So that
// the bytes after a publish command are judged by the handler's answer, the
// guard passes bytes only up to the end of each command: go-rtmp handles a
// message before it reads on.
type guard struct {
	skip      int // handshake bytes still to come
	chunkSize uint32
	streams   map[uint32]*inbound
	held      uint32
	publisher bool // set by the handler once it accepts the key

	hdr     []byte   // the chunk header being read
	cur     *inbound // chunk stream of the current chunk
	payload uint32   // payload bytes left in the current chunk
}

// inbound is one chunk stream from the client.
type inbound struct {
	length  uint32 // message length from the last type-0/1 header
	typeID  byte
	remain  uint32 // bytes left of the message being received; 0 between messages
	largest uint32 // largest message declared here
	head    []byte // first bytes of a Set Chunk Size message
	body    []byte // a command or metadata message so far, to check before go-rtmp decodes it
}

func newGuard() *guard {
	return &guard{skip: rtmpwire.HandshakeSize, chunkSize: 128, streams: map[uint32]*inbound{}}
}

// check follows the next bytes from the client. It returns how many of them
// may go to go-rtmp now (all, or up to the end of a command), or what the
// client broke.
func (g *guard) check(in []byte) (int, error) {
	n := 0
	for n < len(in) {
		switch {
		case g.skip > 0:
			k := min(g.skip, len(in)-n)
			g.skip -= k
			n += k
		case g.payload > 0:
			k := min(int(g.payload), len(in)-n)
			if err := g.consume(in[n : n+k]); err != nil {
				return 0, err
			}
			n += k
			if g.cur.remain == 0 && (g.cur.typeID == typeCommand || g.cur.typeID == typeCommandAMF3) {
				return n, nil
			}
		default:
			g.hdr = append(g.hdr, in[n])
			n++
			if err := g.header(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// header acts on g.hdr once it holds a whole chunk header.
func (g *guard) header() error {
	h := g.hdr
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
	if format < 3 && h[basic] == 0xff && h[basic+1] == 0xff && h[basic+2] == 0xff {
		size += 4 // extended timestamp
		if len(h) < size {
			return nil
		}
	}
	csid := uint32(h[0] & 0x3f)
	switch basic {
	case 2:
		csid = uint32(h[1]) + 64
	case 3:
		csid = uint32(h[2])*256 + uint32(h[1]) + 64
	}
	cs := g.streams[csid]
	if cs == nil {
		if len(g.streams) >= maxChunkStreams {
			return fmt.Errorf("opened more than %d chunk streams", maxChunkStreams)
		}
		cs = &inbound{}
		g.streams[csid] = cs
	}
	if format < 2 {
		mh := h[basic:]
		cs.length = uint32(mh[3])<<16 | uint32(mh[4])<<8 | uint32(mh[5])
		cs.typeID = mh[6]
	}
	g.hdr = g.hdr[:0]

	if cs.remain == 0 {
		if err := g.start(cs, csid); err != nil {
			return err
		}
	}
	g.cur = cs
	g.payload = min(g.chunkSize, cs.remain)
	if g.payload == 0 {
		return g.end()
	}
	return nil
}

// start checks a message that begins on chunk stream cs.
func (g *guard) start(cs *inbound, csid uint32) error {
	maxMessage, maxHeld, role := uint32(setupMessageBytes), uint32(setupHeldBytes), "without publishing"
	if g.publisher {
		maxMessage, maxHeld, role = publishMessageBytes, publishHeldBytes, "for a publisher"
	}
	if (cs.typeID == typeAudio || cs.typeID == typeVideo) && !g.publisher {
		return fmt.Errorf("sent audio or video without publishing (chunk stream %d)", csid)
	}
	if cs.length > maxMessage {
		return fmt.Errorf("declared a message of %d bytes on chunk stream %d, at most %d %s", cs.length, csid, maxMessage, role)
	}
	if cs.length > cs.largest {
		g.held += cs.length - cs.largest
		cs.largest = cs.length
		if g.held > maxHeld {
			return fmt.Errorf("declared messages of %d bytes in all on %d chunk streams, at most %d %s", g.held, len(g.streams), maxHeld, role)
		}
	}
	cs.remain = cs.length
	cs.head, cs.body = cs.head[:0], cs.body[:0]
	return nil
}

// consume follows payload bytes of the current chunk.
func (g *guard) consume(p []byte) error {
	cs := g.cur
	if cs.typeID == typeSetChunkSize && len(cs.head) < 4 {
		cs.head = append(cs.head, p[:min(len(p), 4-len(cs.head))]...)
	}
	if decoded(cs.typeID) {
		cs.body = append(cs.body, p...) // at most the message size checked in start
	}
	n := uint32(len(p))
	g.payload -= n
	cs.remain -= n
	if cs.remain == 0 {
		return g.end()
	}
	return nil
}

// end acts on a complete message: a command or metadata is checked before
// go-rtmp decodes it, a new chunk size is taken.
func (g *guard) end() error {
	cs := g.cur
	g.payload = 0
	if decoded(cs.typeID) {
		err := rtmpwire.CheckAMF0(cs.body)
		cs.body = cs.body[:0]
		if err != nil {
			return fmt.Errorf("sent a malformed message of type %d: %w", cs.typeID, err)
		}
		return nil
	}
	if cs.typeID != typeSetChunkSize || len(cs.head) < 4 {
		return nil // a short Set Chunk Size is go-rtmp's to refuse
	}
	v := binary.BigEndian.Uint32(cs.head) & 0x7fffffff
	if v == 0 || v > maxChunkSize {
		return fmt.Errorf("set the chunk size to %d, want 1..%d", v, maxChunkSize)
	}
	g.chunkSize = v
	return nil
}
