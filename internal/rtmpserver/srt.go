package rtmpserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	srt "github.com/datarhei/gosrt"

	"github.com/onair-studio/onair/internal/output"
)

// SRT publishers: another machine (OBS, ffmpeg, another OnAir) sends
// MPEG-TS (H.264, AAC) over SRT in caller mode with streamid set to the
// stream key, and it feeds the same stream an RTMP publisher feeds, so
// players watch it over RTMP as usual. The key is the secret: the listener
// takes no passphrase.

// maxSetupBytes caps what a publisher may send before its program tables
// (PAT, PMT), which the TS reader buffers until it finds them.
const maxSetupBytes = 4 << 20

// srtConn is one accepted SRT publisher.
type srtConn struct {
	srv    *Server
	conn   srt.Conn // nil while the handshake is being accepted
	remote string
	ip     string
}

func (c *srtConn) kick()              { c.conn.Close() }
func (c *srtConn) remoteAddr() string { return c.remote }

// ServeSRT accepts SRT publishers on ln until Close; it then returns
// ErrServerClosed. It closes ln.
func (s *Server) ServeSRT(ln srt.Listener) error {
	s.mu.Lock()
	if s.closed || s.srtLn != nil {
		s.mu.Unlock()
		ln.Close()
		if s.closed {
			return ErrServerClosed
		}
		return errors.New("rtmp server is already serving SRT")
	}
	s.srtLn = ln
	s.mu.Unlock()
	s.log.Info("rtmp server: accepting SRT publishers", "addr", ln.Addr().String(), "streamid", output.MaskKey(s.cfg.Key))
	for {
		req, err := ln.Accept2()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			if errors.Is(err, srt.ErrListenerClosed) {
				return net.ErrClosed
			}
			return err
		}
		s.admitSRT(req)
	}
}

// admitSRT checks a caller's streamid against the key (in constant time)
// and the connection caps, then accepts it. gosrt answers handshakes with
// cookies, so a flood of them holds nothing here until one carries the key.
func (s *Server) admitSRT(req srt.ConnRequest) {
	c := &srtConn{srv: s, remote: req.RemoteAddr().String(), ip: addrIP(req.RemoteAddr())}
	if !sameSecret(req.StreamId(), s.cfg.Key) {
		s.refusals.Add(1)
		s.warn("srt publish refused", "wrong streamid "+output.MaskKey(req.StreamId()), "remote", c.remote)
		req.Reject(srt.REJX_UNAUTHORIZED)
		return
	}
	if req.IsEncrypted() {
		s.refusals.Add(1)
		s.warn("srt publish refused", "it set a passphrase; this server takes none (the streamid is the key)", "remote", c.remote)
		req.Reject(srt.REJ_UNSECURE)
		return
	}
	s.mu.Lock()
	var full string
	switch {
	case s.closed:
		full = "the server is closing"
	case len(s.srtConns) >= s.cfg.MaxConnections:
		full = fmt.Sprintf("%d SRT connections open, the most allowed", len(s.srtConns))
	case s.srtPerIP[c.ip] >= s.cfg.MaxConnectionsPerIP:
		full = fmt.Sprintf("%d SRT connections open from %s, the most allowed", s.srtPerIP[c.ip], c.ip)
	default:
		s.srtConns[c] = struct{}{}
		s.srtPerIP[c.ip]++
	}
	s.mu.Unlock()
	if full != "" {
		s.turnedAway.Add(1)
		s.warn("srt connection turned away", full, "remote", c.remote)
		req.Reject(srt.REJX_OVERLOAD)
		return
	}
	conn, err := req.Accept()
	s.mu.Lock()
	if err == nil && s.closed {
		conn.Close()
		err = errors.New("the server is closing")
	}
	if err != nil {
		s.mu.Unlock()
		s.untrackSRT(c)
		s.log.Warn("rtmp server: accepting an SRT publisher failed", "remote", c.remote, "err", err)
		return
	}
	c.conn = conn
	s.mu.Unlock()
	go c.run()
}

func (s *Server) untrackSRT(c *srtConn) {
	s.mu.Lock()
	delete(s.srtConns, c)
	if s.srtPerIP[c.ip]--; s.srtPerIP[c.ip] <= 0 {
		delete(s.srtPerIP, c.ip)
	}
	s.idle.Broadcast()
	s.mu.Unlock()
}

func (c *srtConn) run() {
	defer c.srv.untrackSRT(c)
	defer c.conn.Close()
	err := c.publish()
	c.srv.log.Info("rtmp server: SRT publisher left", "remote", c.remote, "reason", err)
}

// publish reads the program tables, becomes the stream's publisher and
// relays until the connection ends.
func (c *srtConn) publish() error {
	s := c.srv
	in := &setupLimit{r: c.conn, left: maxSetupBytes}
	setup := time.AfterFunc(s.cfg.SetupTimeout, func() { c.conn.Close() })
	r := &mpegts.Reader{R: in}
	err := r.Initialize()
	if !setup.Stop() {
		err = fmt.Errorf("no MPEG-TS program tables within %v", s.cfg.SetupTimeout)
	}
	in.left = -1
	if err != nil {
		s.broken.Add(1)
		return err
	}
	var tooBig error
	conv := &tsToFLV{emit: func(t tag) {
		if len(t.payload) > publishMessageBytes {
			tooBig = fmt.Errorf("sent a frame of %d bytes, at most %d", len(t.payload), publishMessageBytes)
			return
		}
		if t.typeID == typeVideo {
			s.frames.Add(1)
		}
		s.stream.write(c, t.typeID, t.ts, t.payload)
	}}
	if err := conv.attach(r); err != nil {
		s.broken.Add(1)
		return err
	}
	r.OnDecodeError(func(error) {}) // a damaged packet costs a frame, not the session
	if old := s.stream.setPublisher(c); old != nil {
		s.log.Info("rtmp server: new publisher replaces the old one", "old", old.remoteAddr(), "new", c.remote)
		old.kick()
	}
	defer s.stream.unpublish(c)
	s.publishes.Add(1)
	s.log.Info("rtmp server: publishing over SRT", "remote", c.remote, "stream", s.masked())
	for tooBig == nil {
		if err := r.Read(); err != nil {
			return err
		}
	}
	s.broken.Add(1)
	return tooBig
}

// setupLimit ends a connection that sends more than left bytes while left
// is not negative.
type setupLimit struct {
	r    io.Reader
	left int
}

func (l *setupLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if l.left >= 0 {
		if l.left -= n; l.left < 0 {
			return 0, fmt.Errorf("sent %d bytes without MPEG-TS program tables", maxSetupBytes)
		}
	}
	return n, err
}
