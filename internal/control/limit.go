package control

import (
	"net"
	"slices"
	"sync"
)

// connLimit caps the Control API's open connections, so that strangers
// cannot use up the master's open files. When it is full, a new connection
// takes the place of the oldest one that has not yet made an authenticated
// call: a flood cannot lock the user out, and a client that showed the
// token is never pushed out.
type connLimit struct {
	max  int
	mu   sync.Mutex
	open []*limitedConn // oldest first
}

type limitedConn struct {
	net.Conn
	limit   *connLimit
	trusted bool // guarded by limit.mu
}

// Close forgets the connection and closes it.
func (c *limitedConn) Close() error {
	c.limit.forget(c)
	return c.Conn.Close()
}

// admit registers c, making room if needed; it reports false when every
// open connection is trusted and c must be refused.
func (l *connLimit) admit(c net.Conn) (*limitedConn, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.open) >= l.max {
		i := slices.IndexFunc(l.open, func(o *limitedConn) bool { return !o.trusted })
		if i < 0 {
			return nil, false
		}
		// Closing the socket ends the server's work on it; its Close then
		// finds it already forgotten.
		l.open[i].Conn.Close()
		l.open = slices.Delete(l.open, i, i+1)
	}
	lc := &limitedConn{Conn: c, limit: l}
	l.open = append(l.open, lc)
	return lc, true
}

func (l *connLimit) forget(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i := slices.Index(l.open, c); i >= 0 {
		l.open = slices.Delete(l.open, i, i+1)
	}
}

// trust marks the connection from remote as authenticated.
func (l *connLimit) trust(remote net.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.open {
		if c.RemoteAddr().String() == remote.String() {
			c.trusted = true
		}
	}
}

// limitedListener admits each accepted connection through its connLimit.
type limitedListener struct {
	net.Listener
	limit *connLimit
}

func (ll limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc, ok := ll.limit.admit(c); ok {
			return lc, nil
		}
		c.Close()
	}
}
