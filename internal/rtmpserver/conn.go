package rtmpserver

import (
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
type conn struct {
	*rtmpwire.Conn
	remote string
	mu     sync.Mutex
	held   bool // the read loop holds mu (touched only by the read loop)
}

func newConn(c *rtmpwire.Conn) *conn {
	return &conn{Conn: c, remote: c.RemoteAddr().String()}
}

func (c *conn) Read(b []byte) (int, error) {
	c.release()
	n, err := c.Conn.Read(b)
	if err != nil {
		// go-rtmp is about to close the connection; writers must not wait.
		return n, err
	}
	c.mu.Lock()
	c.held = true
	return n, nil
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
