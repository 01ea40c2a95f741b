// Package rtmpserver is OnAir's embedded live server: it takes one publisher
// per stream key, over RTMP or SRT (see ServeSRT), and relays it to any
// number of RTMP players, each starting at once from a cached keyframe. It
// is built on go-rtmp's server and gosrt's listener.
//
// Timestamps past 2^24 ms (4 h 40 min) are read and written correctly,
// including the extended timestamps in type-3 chunks that go-rtmp itself
// mishandles (see rtmpwire): a publisher whose chunks carry them, as FFmpeg,
// OBS and nginx send them, and one whose chunks leave them out, as go-rtmp
// does, are both understood.
package rtmpserver

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	srt "github.com/datarhei/gosrt"
	rtmp "github.com/yutopp/go-rtmp"

	"github.com/onair-studio/onair/internal/output"
)

const chunkSize = 4096

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("rtmp server closed")

// Config configures the server; zero fields take defaults.
type Config struct {
	// App is the application name in rtmp://host:port/App/Key ("live").
	App string
	// Key is the stream key a publisher must use.
	Key string
	// PlayName is the path players play, so that a player's URL does not
	// give the publish key away. Empty means players play Key, as on
	// nginx-rtmp.
	PlayName string
	// PlayerQueue is how many messages may wait for a slow player before it
	// drops to the next keyframe (512).
	PlayerQueue int
	// MaxGOPBytes caps the keyframe cache (32 MiB).
	MaxGOPBytes int
	// WriteTimeout drops a client whose socket accepts nothing for this long (10 s).
	WriteTimeout time.Duration
	// SetupTimeout closes a connection that neither publishes nor plays
	// within this time (10 s).
	SetupTimeout time.Duration
	// PlayerTimeout drops a player that sends nothing for this long (60 s).
	// The server pings players three times as often, so a live one always
	// has something to answer.
	PlayerTimeout time.Duration
	// MaxConnections caps the connections open at once (100); more are
	// closed as they arrive.
	MaxConnections int
	// MaxConnectionsPerIP caps the connections open at once from one
	// address (10).
	MaxConnectionsPerIP int
	Log                 *slog.Logger
}

// Stats are counters for tests and status displays.
type Stats struct {
	Publishing  bool   // a publisher is live
	Players     int    // players connected now
	Publishes   uint64 // publish sessions accepted
	Plays       uint64 // play sessions accepted
	Refused     uint64 // connects, publishes and plays refused
	VideoFrames uint64 // video messages received from publishers
	PlayerDrops uint64 // messages dropped for slow players
	Connections int    // connections open now
	TurnedAway  uint64 // connections closed on arrival: too many open
	Broken      uint64 // clients dropped for breaking a limit (see guard)
}

// Server is the embedded RTMP server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	rs     *rtmp.Server
	stream *stream

	mu     sync.Mutex
	idle   *sync.Cond // signalled when a connection ends
	conns  map[*conn]struct{}
	perIP  map[string]int
	closed bool
	ln     net.Listener

	srtLn    srt.Listener
	srtConns map[*srtConn]struct{}
	srtPerIP map[string]int

	publishes, plays, refusals, frames, drops, turnedAway, broken atomic.Uint64

	warnMu sync.Mutex
	warns  map[string]*warnings // by kind
}

type warnings struct {
	last   time.Time
	unsaid int
}

// New makes a server; it serves once Serve or ListenAndServe is called.
func New(cfg Config) (*Server, error) {
	if cfg.Key == "" {
		return nil, errors.New("rtmp server needs a stream key")
	}
	if cfg.App == "" {
		cfg.App = "live"
	}
	if cfg.PlayerQueue <= 0 {
		cfg.PlayerQueue = 512
	}
	if cfg.MaxGOPBytes <= 0 {
		cfg.MaxGOPBytes = 32 << 20
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.SetupTimeout <= 0 {
		cfg.SetupTimeout = 10 * time.Second
	}
	if cfg.PlayerTimeout <= 0 {
		cfg.PlayerTimeout = time.Minute
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 100
	}
	if cfg.MaxConnectionsPerIP <= 0 {
		cfg.MaxConnectionsPerIP = 10
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Log, stream: newStream(cfg.MaxGOPBytes), conns: map[*conn]struct{}{}, perIP: map[string]int{},
		srtConns: map[*srtConn]struct{}{}, srtPerIP: map[string]int{}, warns: map[string]*warnings{}}
	s.idle = sync.NewCond(&s.mu)
	s.rs = rtmp.NewServer(&rtmp.ServerConfig{OnConnect: s.accept})
	return s, nil
}

// ListenAndServe listens on addr (host:port) and serves until Close.
func (s *Server) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve accepts connections on l until Close; it then returns
// ErrServerClosed. It closes l.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed || s.ln != nil {
		s.mu.Unlock()
		l.Close()
		if s.closed {
			return ErrServerClosed
		}
		return errors.New("rtmp server is already serving")
	}
	s.ln = l
	s.mu.Unlock()
	s.log.Info("rtmp server: listening", "addr", l.Addr().String(), "stream", s.masked())
	err := s.rs.Serve(listener{l, s})
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	switch {
	case closed:
		return ErrServerClosed
	case errors.Is(err, rtmp.ErrClosed):
		return net.ErrClosed // the listener was closed under us
	}
	return err
}

// listener admits connections for go-rtmp's Serve (see admit), and handles
// accept errors, which Serve retries in a tight loop: it pauses on temporary
// ones (out of file descriptors), and when the listener is closed it ends
// Serve.
type listener struct {
	net.Listener
	s *Server
}

func (l listener) Accept() (net.Conn, error) {
	pause := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			if cc := l.s.admit(c); cc != nil {
				return cc, nil
			}
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			_ = l.s.rs.Close() // Serve returns once its server is closed
			return nil, err
		}
		l.s.log.Warn("rtmp server: accept failed", "err", err)
		time.Sleep(pause)
		pause = min(2*pause, time.Second)
	}
}

// Close stops listening, closes every connection and waits for them to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	for c := range s.srtConns {
		if c.conn != nil {
			c.conn.Close()
		}
	}
	ln, srtLn := s.ln, s.srtLn
	s.mu.Unlock()
	err := s.rs.Close()
	if ln != nil {
		ln.Close() // in case go-rtmp's Serve had not registered it yet
	}
	if srtLn != nil {
		srtLn.Close()
	}
	s.mu.Lock()
	for len(s.conns) > 0 || len(s.srtConns) > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
	return err
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.conns) + len(s.srtConns)
	s.mu.Unlock()
	return Stats{
		Publishing:  s.stream.publishing(),
		Players:     s.stream.playerCount(),
		Publishes:   s.publishes.Load(),
		Plays:       s.plays.Load(),
		Refused:     s.refusals.Load(),
		VideoFrames: s.frames.Load(),
		PlayerDrops: s.drops.Load(),
		Connections: n,
		TurnedAway:  s.turnedAway.Load(),
		Broken:      s.broken.Load(),
	}
}

// admit wraps and tracks a new connection, or closes it when the server
// has as many open as it allows, in all or from that address. Connections
// are counted here, as they arrive, so that a burst cannot slip past the caps
// before go-rtmp's goroutines start.
func (s *Server) admit(nc net.Conn) *conn {
	c := newConn(nc, s.cfg.WriteTimeout, s.broke)
	s.mu.Lock()
	var full string
	switch {
	case len(s.conns) >= s.cfg.MaxConnections:
		full = fmt.Sprintf("%d connections open, the most allowed", len(s.conns))
	case s.perIP[c.ip] >= s.cfg.MaxConnectionsPerIP:
		full = fmt.Sprintf("%d connections open from %s, the most allowed", s.perIP[c.ip], c.ip)
	default:
		s.conns[c] = struct{}{}
		s.perIP[c.ip]++
	}
	s.mu.Unlock()
	if full != "" {
		nc.Close()
		s.turnedAway.Add(1)
		s.warn("connection turned away", full, "remote", c.remote)
		return nil
	}
	c.setupDeadline(s.cfg.SetupTimeout)
	return c
}

// accept hands an admitted connection to go-rtmp.
func (s *Server) accept(nc net.Conn) (io.ReadWriteCloser, *rtmp.ConnConfig) {
	c := nc.(*conn)
	s.mu.Lock()
	if s.closed {
		c.Close() // go-rtmp fails the handshake and ends the session
	}
	s.mu.Unlock()
	return c, &rtmp.ConnConfig{
		Handler:      &handler{srv: s, c: c},
		ControlState: rtmp.StreamControlStateConfig{MaxMessageStreams: maxMessageStreams},
	}
}

// maxMessageStreams caps the streams a client may create (the control
// stream included); players and publishers create one.
const maxMessageStreams = 4

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
		delete(s.perIP, c.ip)
	}
	s.idle.Broadcast()
	s.mu.Unlock()
}

func (s *Server) refused(what string, c *conn, why string) {
	s.refusals.Add(1)
	s.warn(what+" refused", why, "remote", c.remote)
}

// broke notes a client the guard stopped; go-rtmp then closes it.
func (s *Server) broke(c *conn, err error) {
	s.broken.Add(1)
	s.warn("client dropped", "it "+err.Error(), "remote", c.remote)
}

// warn logs what strangers can make happen at will (refusals, dropped
// clients) at most once a second for each kind, so that they cannot flood
// the log; the next line of a kind says how many were left out.
func (s *Server) warn(kind, detail string, args ...any) {
	s.warnMu.Lock()
	w := s.warns[kind]
	if w == nil {
		w = &warnings{}
		s.warns[kind] = w
	}
	now := time.Now()
	if now.Sub(w.last) < time.Second {
		w.unsaid++
		s.warnMu.Unlock()
		return
	}
	unsaid := w.unsaid
	w.last, w.unsaid = now, 0
	s.warnMu.Unlock()
	if unsaid > 0 {
		args = append(args, "not_logged_since", unsaid)
	}
	s.log.Warn("rtmp server: "+kind+": "+detail, args...)
}

func (s *Server) dropped(n int) { s.drops.Add(uint64(n)) }

// masked is the stream path as it may be logged.
func (s *Server) masked() string { return s.cfg.App + "/" + output.MaskKey(s.cfg.Key) }
