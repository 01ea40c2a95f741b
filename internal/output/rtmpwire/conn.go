package rtmpwire

import (
	"errors"
	"net"
	"time"
)

// Conn is the net.Conn go-rtmp reads and writes: incoming bytes lose the
// type-3 extended timestamps go-rtmp cannot parse, outgoing bytes gain the
// ones it forgets (see Fixer), and every socket write has a deadline so a
// stalled peer fails the connection instead of blocking it forever.
//
// go-rtmp writes each chunk on its own (a picture is several), each a
// system call here and a wake-up of the peer. Conn holds chunks back until
// every message begun has ended, then writes them at once: a message is of
// no use to the peer before its last chunk anyway.
//
// As go-rtmp uses it, one goroutine reads and one (its chunk writer) writes.
type Conn struct {
	net.Conn
	writeTimeout time.Duration
	rd, wr       *Fixer
	buf          []byte
	pending      []byte // repaired bytes not yet returned by Read
	readErr      error
	held         []byte // repaired bytes of unfinished messages, not yet written
}

// flushAt bounds what Write holds back: a message longer than this (a large
// keyframe) goes out in pieces of about this size.
const flushAt = 256 << 10

// NewConn wraps c, which must be at the start of the RTMP handshake.
// writeTimeout (if > 0) bounds each socket write.
func NewConn(c net.Conn, writeTimeout time.Duration) *Conn {
	return &Conn{
		Conn:         c,
		writeTimeout: writeTimeout,
		rd:           NewFixer(Strip),
		wr:           NewFixer(Insert),
		buf:          make([]byte, 32<<10),
	}
}

// Read returns repaired bytes from the peer.
func (c *Conn) Read(b []byte) (int, error) {
	for len(c.pending) == 0 {
		if c.readErr != nil {
			return 0, c.readErr
		}
		n, err := c.Conn.Read(c.buf)
		if n > 0 {
			c.pending = c.rd.Feed(c.buf[:n])
		}
		c.readErr = err
	}
	n := copy(b, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// Write sends repaired bytes to the peer once they end every message begun.
func (c *Conn) Write(b []byte) (int, error) {
	out := c.wr.Feed(b)
	if len(c.held) > 0 || !c.wr.Between() {
		c.held = append(c.held, out...)
		if !c.wr.Between() && len(c.held) < flushAt {
			return len(b), nil
		}
		out = c.held
		c.held = c.held[:0] // out stays valid: nothing appends before the write
	}
	if c.writeTimeout > 0 {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
			return 0, err
		}
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// PlainError reduces an error from go-rtmp, which carries a stack trace that
// %+v (and so slog) prints, to its cause: the network error if there is one,
// else the innermost message.
func PlainError(err error) error {
	if err == nil {
		return nil
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op
	}
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return errors.New(err.Error())
		}
		err = inner
	}
}
