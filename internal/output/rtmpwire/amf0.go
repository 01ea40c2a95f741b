package rtmpwire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// AMF0 markers (AMF0 specification, section 2.1).
const (
	amf0Number      = 0x00
	amf0Boolean     = 0x01
	amf0String      = 0x02
	amf0Object      = 0x03
	amf0Null        = 0x05
	amf0Undefined   = 0x06
	amf0Reference   = 0x07
	amf0ECMAArray   = 0x08
	amf0ObjectEnd   = 0x09
	amf0StrictArray = 0x0a
	amf0Date        = 0x0b
	amf0LongString  = 0x0c
	amf0Unsupported = 0x0d
	amf0XMLDocument = 0x0f
	amf0TypedObject = 0x10
)

// maxAMF0Depth bounds nesting: real commands nest two or three levels.
const maxAMF0Depth = 32

var errAMF0Short = errors.New("AMF0: a value runs past the end of the message")

// CheckAMF0 reports whether b is a sequence of AMF0 values whose every
// declared length and count fits in b. go-amf0 sizes its allocations from
// those fields before reading what they announce, so one 5-byte strict
// array that claims 2^31 elements makes it ask for 32 GiB: any message body
// it decodes (commands, metadata) from a peer goes through this first.
func CheckAMF0(b []byte) error {
	for len(b) > 0 {
		rest, err := skipAMF0(b, 0)
		if err != nil {
			return err
		}
		b = rest
	}
	return nil
}

// skipAMF0 checks one value and returns what follows it.
func skipAMF0(b []byte, depth int) ([]byte, error) {
	if depth > maxAMF0Depth {
		return nil, fmt.Errorf("AMF0: values nested more than %d deep", maxAMF0Depth)
	}
	if len(b) == 0 {
		return nil, errAMF0Short
	}
	marker, b := b[0], b[1:]
	switch marker {
	case amf0Number:
		return skipBytes(b, 8)
	case amf0Boolean:
		return skipBytes(b, 1)
	case amf0String:
		return skipString16(b)
	case amf0Null, amf0Undefined, amf0Unsupported:
		return b, nil
	case amf0Reference:
		return skipBytes(b, 2)
	case amf0Date:
		return skipBytes(b, 10)
	case amf0LongString, amf0XMLDocument:
		if len(b) < 4 {
			return nil, errAMF0Short
		}
		return skipBytes(b[4:], int(binary.BigEndian.Uint32(b)))
	case amf0Object:
		return skipProperties(b, depth)
	case amf0TypedObject:
		b, err := skipString16(b) // class name
		if err != nil {
			return nil, err
		}
		return skipProperties(b, depth)
	case amf0ECMAArray:
		if len(b) < 4 {
			return nil, errAMF0Short
		}
		return skipProperties(b[4:], depth) // the count is only a hint
	case amf0StrictArray:
		if len(b) < 4 {
			return nil, errAMF0Short
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) { // every element takes a byte at least
			return nil, fmt.Errorf("AMF0: a strict array claims %d elements in %d bytes", n, len(b))
		}
		for range n {
			var err error
			if b, err = skipAMF0(b, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("AMF0: unsupported marker 0x%02x", marker)
}

// skipProperties checks an object's name/value pairs up to its end marker.
func skipProperties(b []byte, depth int) ([]byte, error) {
	for {
		if len(b) >= 3 && b[0] == 0 && b[1] == 0 && b[2] == amf0ObjectEnd {
			return b[3:], nil
		}
		var err error
		if b, err = skipString16(b); err != nil {
			return nil, err
		}
		if b, err = skipAMF0(b, depth+1); err != nil {
			return nil, err
		}
	}
}

func skipString16(b []byte) ([]byte, error) {
	if len(b) < 2 {
		return nil, errAMF0Short
	}
	return skipBytes(b[2:], int(binary.BigEndian.Uint16(b)))
}

func skipBytes(b []byte, n int) ([]byte, error) {
	if n < 0 || n > len(b) {
		return nil, errAMF0Short
	}
	return b[n:], nil
}
