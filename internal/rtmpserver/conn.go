package rtmpserver

import (
	"net"
	"sync"
	"time"

	"github.com/onair-studio/onair/internal/output/rtmpwire"
)

// conn is what go-rtmp's server reads and writes for one client.
//
// go-rtmp's message encoder is shared by everything that writes on a
// connection and is not safe for concurrent use, yet two goroutines write:
// go-rtmp's read loop (command answers, acknowledgements) and a player's
// writer goroutine (media). The read loop holds mu from the moment one of its
// reads returns until it reads again, i.e. while it handles a message; a
// player's writer takes mu for each message it writes. So they take turns,
// and the read loop never waits for a writer except while it has data in hand.
//
// Everything the client sends passes its guard first.
type conn struct {
	*rtmpwire.Conn
	remote string
	ip     string // the client's address, for the per-address cap
	mu     sync.Mutex
	held   bool // the read loop holds mu (touched only by the read loop)

	// Touched only by the read loop.
	guard   *guard
	unread  []byte        // bytes the guard holds back until go-rtmp asks again
	idle    time.Duration // a player that sends nothing for this long is dropped
	onBreak func(error)   // the client broke a limit; the connection closes
}

func newConn(c net.Conn, writeTimeout time.Duration, onBreak func(*conn, error)) *conn {
	cc := &conn{Conn: rtmpwire.NewConn(c, writeTimeout), remote: c.RemoteAddr().String(), ip: addrIP(c.RemoteAddr()), guard: newGuard()}
	cc.onBreak = func(err error) { onBreak(cc, err) }
	return cc
}

func addrIP(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	host, _, _ := net.SplitHostPort(a.String())
	return host
}

func (c *conn) Read(b []byte) (int, error) {
	c.release()
	n, err := c.read(b)
	if err != nil {
		// go-rtmp is about to close the connection; writers must not wait.
		return n, err
	}
	c.mu.Lock()
	c.held = true
	return n, nil
}

// read returns what the guard lets through of the client's next bytes.
func (c *conn) read(b []byte) (int, error) {
	var n int
	if len(c.unread) > 0 {
		n = copy(b, c.unread)
		c.unread = c.unread[n:]
	} else {
		if c.idle > 0 {
			_ = c.Conn.Conn.SetReadDeadline(time.Now().Add(c.idle))
		}
		var err error
		if n, err = c.Conn.Read(b); err != nil {
			return 0, err
		}
	}
	ok, err := c.guard.check(b[:n])
	if err != nil {
		c.onBreak(err)
		return 0, err
	}
	if ok < n {
		c.unread = append(append([]byte(nil), b[ok:n]...), c.unread...)
	}
	return ok, nil
}

// release lets writers go when the read loop ends while holding mu, as it
// does when go-rtmp recovers from a panic in its handling of a message.
// Only the read loop's goroutine may call it.
func (c *conn) release() {
	if c.held {
		c.held = false
		c.mu.Unlock()
	}
}

// setupDeadline bounds the time a client may take to publish or play.
func (c *conn) setupDeadline(d time.Duration) {
	if d > 0 {
		_ = c.Conn.Conn.SetReadDeadline(time.Now().Add(d))
	} else {
		_ = c.Conn.Conn.SetReadDeadline(time.Time{})
	}
}
