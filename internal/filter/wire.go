package filter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
)

// Messages on the socket, little-endian. Setup: the encoder's hello (the
// frame it offers), the plugin's want (format and slots), the encoder's ring
// (the layout, with the memfd). Then per frame: frame (slot, seq) one way,
// done (slot, status, seq, bytes written) the other.
const (
	magic       = 0x464e4f41 // "AONF"
	wireVersion = 1
	helloLen    = 20
	wantLen     = 20
	ringLen     = 20
	frameLen    = 16
	doneLen     = 24
)

// statusOK in a done message says the filter changed the frame; anything
// else says it failed and the frame airs unfiltered.
const statusOK = 0

var formatCodes = map[string]uint32{FormatRGBA: 1, FormatI420: 2, FormatF32: 4}

func formatOf(code uint32) string {
	for f, c := range formatCodes {
		if c == code {
			return f
		}
	}
	return fmt.Sprintf("format #%d", code)
}

func put(words ...uint32) []byte {
	b := make([]byte, 4*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}

func words(b []byte, n int) ([]uint32, error) {
	if len(b) != 4*n {
		return nil, fmt.Errorf("a setup message of %d bytes, want %d", len(b), 4*n)
	}
	w := make([]uint32, n)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	if w[0] != magic {
		return nil, errors.New("not an OnAir filter message")
	}
	return w, nil
}

// hello is what the encoder offers: the frame's size and the formats it
// can hand over.
type hello struct {
	width, height int
	formats       []string
}

func (h hello) marshal() []byte {
	var mask uint32
	for _, f := range h.formats {
		mask |= formatCodes[f]
	}
	return put(magic, wireVersion, uint32(h.width), uint32(h.height), mask)
}

func readHello(c *net.UnixConn) (hello, error) {
	b := make([]byte, 64)
	n, err := c.Read(b)
	if err != nil {
		return hello{}, err
	}
	w, err := words(b[:n], helloLen/4)
	if err != nil {
		return hello{}, err
	}
	if w[1] != wireVersion {
		return hello{}, fmt.Errorf("the encoder speaks filter protocol %d, this plugin %d", w[1], wireVersion)
	}
	h := hello{width: int(w[2]), height: int(w[3])}
	for f, c := range formatCodes {
		if w[4]&c != 0 {
			h.formats = append(h.formats, f)
		}
	}
	return h, nil
}

// marshalLayout is the want and ring messages: a layout.
func marshalLayout(l Layout) []byte {
	return put(magic, formatCodes[l.Format], uint32(l.Slots), uint32(l.Width), uint32(l.Height))
}

func parseLayout(b []byte) (Layout, error) {
	w, err := words(b, wantLen/4)
	if err != nil {
		return Layout{}, err
	}
	return Layout{Format: formatOf(w[1]), Slots: int(w[2]), Width: int(w[3]), Height: int(w[4])}, nil
}

type frameMsg struct {
	slot int
	seq  uint64
}

func (f frameMsg) marshal() []byte {
	b := make([]byte, frameLen)
	binary.LittleEndian.PutUint32(b[0:], uint32(f.slot))
	binary.LittleEndian.PutUint64(b[8:], f.seq)
	return b
}

func parseFrame(b []byte) (frameMsg, error) {
	if len(b) != frameLen {
		return frameMsg{}, fmt.Errorf("a frame message of %d bytes, want %d", len(b), frameLen)
	}
	return frameMsg{slot: int(binary.LittleEndian.Uint32(b[0:])), seq: binary.LittleEndian.Uint64(b[8:])}, nil
}

type doneMsg struct {
	slot   int
	status uint32
	seq    uint64
	bytes  uint64
}

func (d doneMsg) marshal() []byte {
	b := make([]byte, doneLen)
	binary.LittleEndian.PutUint32(b[0:], uint32(d.slot))
	binary.LittleEndian.PutUint32(b[4:], d.status)
	binary.LittleEndian.PutUint64(b[8:], d.seq)
	binary.LittleEndian.PutUint64(b[16:], d.bytes)
	return b
}

func parseDone(b []byte) (doneMsg, error) {
	if len(b) != doneLen {
		return doneMsg{}, fmt.Errorf("a reply of %d bytes, want %d", len(b), doneLen)
	}
	return doneMsg{slot: int(binary.LittleEndian.Uint32(b[0:])), status: binary.LittleEndian.Uint32(b[4:]),
		seq: binary.LittleEndian.Uint64(b[8:]), bytes: binary.LittleEndian.Uint64(b[16:])}, nil
}
