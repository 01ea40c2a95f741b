package rtsp

import (
	"bufio"
	"net"
	"sync"
)

// The return path carries each picture as about ten RTP packets (the RTSP
// library caps a packet at 1472 bytes). Sent one write each, every packet
// is a system call in the encoder and a wake-up of the master's reader.
// unitConn sends an access unit's packets in one write and the master reads
// them in one read, so each picture costs each side one wake-up.

// flushAt bounds what unitConn holds back, in case an access unit's last
// packet never comes (it always does from this package's publisher).
const flushAt = 256 << 10

// readBuffer is what the master's side reads at once: a keyframe's worth.
const readBuffer = 64 << 10

// unitConn holds back the RTP packets written to it, each an RTSP
// interleaved frame ('$', channel, length, packet), until one ends an
// access unit (the RTP marker bit, RFC 6184 and RFC 3640), then writes
// them all at once. Anything else (an RTSP request, an RTCP report) goes
// at once, after what is held. Write deadlines apply to that one write.
type unitConn struct {
	net.Conn
	mu   sync.Mutex
	held []byte
}

func (c *unitConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !endsUnit(p) && len(c.held)+len(p) < flushAt {
		c.held = append(c.held, p...)
		return len(p), nil
	}
	out := p
	if len(c.held) > 0 {
		c.held = append(c.held, p...)
		out = c.held
	}
	_, err := c.Conn.Write(out)
	c.held = c.held[:0]
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// endsUnit reports whether p, one write of the RTSP connection, must go
// out now: it is not an RTP packet on an even (RTP) channel, or it is the
// last packet of an access unit.
func endsUnit(p []byte) bool {
	const header = 4 // '$', channel, 16-bit length
	if len(p) < header+2 || p[0] != '$' || p[1]%2 == 1 {
		return true
	}
	return p[header+1]&0x80 != 0 // the marker bit
}

// bufferedListener gives each accepted connection a read buffer that takes
// a whole access unit in one system call.
type bufferedListener struct{ net.Listener }

func (l bufferedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBuffer)}, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
