// Package obsserver answers obs-websocket v5 clients (stream decks, chat
// bots, obs-websocket-js, obsws-python and goobs scripts) by mapping their
// requests onto the master's Control API implementation: there is one
// implementation and no second state. The wire format is internal/obsws'.
package obsserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/onair-studio/onair/internal/obsws"
	"github.com/onair-studio/onair/stub/pb"
)

// PasswordFile is the password's file name in the config dir (0600).
const PasswordFile = "obs-websocket-password"

// DefaultPort is obs-websocket's port.
const DefaultPort = "4455"

const (
	// AuthTimeout is how long a client has to identify itself.
	AuthTimeout = 10 * time.Second
	// maxMessage bounds one incoming message; a larger one ends the
	// session with WebSocket's "message too big".
	maxMessage = 1 << 20
	// maxSessions bounds open connections, so a flood cannot exhaust the
	// master.
	maxSessions = 64
	// queued is how many messages wait for a slow client: meters beyond
	// it are skipped, anything else ends its session.
	queued = 256
	// obsWebSocketVersion is the protocol release whose requests this
	// server answers the way OBS does.
	obsWebSocketVersion = "5.5.0"
)

// Options configure a Server.
type Options struct {
	// Control is the master: every request is one or more of its calls.
	Control  pb.ControlServer
	Password string
	Log      *slog.Logger
	// AuthTimeout defaults to AuthTimeout.
	AuthTimeout time.Duration
}

// Server is an obs-websocket v5 server.
type Server struct {
	opts     Options
	http     *http.Server
	upgrader websocket.Upgrader
	events   *eventSource

	mu       sync.Mutex
	sessions map[*session]struct{}
	closed   bool
	stats    cpuSample
	// live and recording time the outputs from when this server saw
	// them start.
	live, recording activeSince
}

// New makes a server; Serve starts it.
func New(opts Options) *Server {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.AuthTimeout <= 0 {
		opts.AuthTimeout = AuthTimeout
	}
	s := &Server{opts: opts, sessions: map[*session]struct{}{}}
	s.upgrader = websocket.Upgrader{
		Subprotocols: []string{"obswebsocket.json"},
		// Browser tools (obs-websocket-js pages, Touch Portal's web view)
		// connect from any origin, as to OBS: the password is the guard.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	s.events = newEventSource(opts.Control, s.broadcast, s.observe, opts.Log)
	s.http = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: opts.AuthTimeout}
	return s
}

// Serve answers clients on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close tells every client the studio is exiting (ExitStarted) and ends
// their sessions.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	all := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		ss.event(obsws.Event{EventType: "ExitStarted", EventIntent: obsws.SubGeneral})
		select {
		case ss.out <- nil: // the writer closes the session after the event
		case <-ss.done:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.http.Shutdown(ctx)
	for _, ss := range all {
		select {
		case <-ss.done:
		case <-ctx.Done():
			ss.stop()
		}
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	full, closed := len(s.sessions) >= maxSessions, s.closed
	s.mu.Unlock()
	if closed || full {
		http.Error(w, "too many obs-websocket sessions", http.StatusServiceUnavailable)
		return
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	conn.SetReadLimit(maxMessage)
	ss := newSession(s, conn)
	s.mu.Lock()
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
	s.events.join()
	ss.run()
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
	s.events.leave()
}

// observe notes when the outputs started, for their timecodes.
func (s *Server) observe(st *pb.MasterStatus) {
	s.live.of(st.GetLive())
	s.recording.of(recordingActive(st))
}

// broadcast sends an event to every identified session subscribed to it,
// encoded once and only if some session wants it.
func (s *Server) broadcast(ev obsws.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var data []byte
	for ss := range s.sessions {
		if !ss.subscribed(ev.EventIntent) {
			continue
		}
		if data == nil {
			var err error
			if data, err = obsws.Encode(obsws.OpEvent, ev); err != nil {
				return
			}
		}
		ss.queue(ev.EventIntent, data)
	}
}

// session is one client connection.
type session struct {
	srv  *Server
	conn *websocket.Conn
	out  chan []byte
	done chan struct{}
	once sync.Once
	// subs is the event mask, 0 until identified.
	subs       atomic.Int64
	identified atomic.Bool
	in, sent   atomic.Uint64
}

func newSession(s *Server, conn *websocket.Conn) *session {
	return &session{srv: s, conn: conn, out: make(chan []byte, queued), done: make(chan struct{})}
}

// run greets the client, reads its messages until it leaves or breaks the
// protocol, and writes what is queued for it.
func (ss *session) run() {
	defer ss.conn.Close()
	go ss.write()
	auth := obsws.Auth{Challenge: random(), Salt: random()}
	ss.send(obsws.OpHello, obsws.Hello{ObsWebSocketVersion: obsWebSocketVersion, RPCVersion: obsws.RPCVersion, Authentication: &auth})
	_ = ss.conn.SetReadDeadline(time.Now().Add(ss.srv.opts.AuthTimeout))
	for {
		_, data, err := ss.conn.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !ss.identified.Load() {
				ss.close(int(obsws.CloseNotIdentified), "not identified within "+ss.srv.opts.AuthTimeout.String())
			}
			if errors.Is(err, websocket.ErrReadLimit) {
				ss.srv.opts.Log.Info("obs-websocket client dropped", "client", ss.conn.RemoteAddr().String(), "why", "message over 1 MiB")
				ss.linger()
			}
			ss.stop()
			return
		}
		ss.in.Add(1)
		if err := ss.handle(data, auth); err != nil {
			var pe *obsws.ProtocolError
			code := int(obsws.CloseUnknownReason)
			if errors.As(err, &pe) {
				code = int(pe.Code)
			}
			ss.srv.opts.Log.Info("obs-websocket client dropped", "client", ss.conn.RemoteAddr().String(), "code", code, "why", err.Error())
			ss.close(code, err.Error())
			ss.stop()
			return
		}
	}
}

// handle answers one message; an error ends the session with its code.
func (ss *session) handle(data []byte, auth obsws.Auth) error {
	op, v, err := obsws.Decode(data)
	if err != nil {
		return err
	}
	if op != obsws.OpIdentify && !ss.identified.Load() {
		return &obsws.ProtocolError{Code: obsws.CloseNotIdentified, Msg: "identify first"}
	}
	switch d := v.(type) {
	case *obsws.Identify:
		if ss.identified.Load() {
			return &obsws.ProtocolError{Code: obsws.CloseAlreadyIdentified, Msg: "already identified"}
		}
		if d.RPCVersion != obsws.RPCVersion {
			return &obsws.ProtocolError{Code: obsws.CloseUnsupportedRPCVersion, Msg: "only rpcVersion 1 is supported"}
		}
		if !obsws.CheckAuth(ss.srv.opts.Password, auth, d.Authentication) {
			return &obsws.ProtocolError{Code: obsws.CloseAuthenticationFailed, Msg: "authentication failed"}
		}
		ss.setSubs(d.EventSubscriptions)
		_ = ss.conn.SetReadDeadline(time.Time{})
		ss.identified.Store(true)
		ss.send(obsws.OpIdentified, obsws.Identified{NegotiatedRPCVersion: obsws.RPCVersion})
	case *obsws.Reidentify:
		ss.setSubs(d.EventSubscriptions)
		ss.send(obsws.OpIdentified, obsws.Identified{NegotiatedRPCVersion: obsws.RPCVersion})
	case *obsws.Request:
		ss.send(obsws.OpRequestResponse, ss.srv.request(ss, *d))
	case *obsws.RequestBatch:
		res := obsws.RequestBatchResponse{RequestID: d.RequestID, Results: []obsws.RequestResponse{}}
		for _, r := range d.Requests {
			resp := ss.srv.request(ss, r)
			res.Results = append(res.Results, resp)
			if d.HaltOnFailure && !resp.RequestStatus.Result {
				break
			}
		}
		ss.send(obsws.OpRequestBatchResponse, res)
	}
	return nil
}

// setSubs takes a client's subscriptions; none named means all the
// ordinary (not high-volume) ones, as the protocol says.
func (ss *session) setSubs(mask *uint32) {
	if mask == nil {
		ss.subs.Store(int64(obsws.SubAll))
		return
	}
	ss.subs.Store(int64(*mask))
}

// subscribed reports whether the client wants events of this intent.
func (ss *session) subscribed(intent obsws.Subscription) bool {
	return ss.identified.Load() && ss.subs.Load()&int64(intent) != 0
}

// event queues ev if the client subscribed.
func (ss *session) event(ev obsws.Event) {
	if !ss.subscribed(ev.EventIntent) {
		return
	}
	data, err := obsws.Encode(obsws.OpEvent, ev)
	if err != nil {
		return
	}
	ss.queue(ev.EventIntent, data)
}

// queue queues an encoded event of this intent without waiting: meters are
// skipped for a client that falls behind; anything else ends its session.
func (ss *session) queue(intent obsws.Subscription, data []byte) {
	select {
	case ss.out <- data:
	case <-ss.done:
	default:
		if intent != obsws.SubInputVolumeMeters {
			ss.close(int(obsws.CloseUnknownReason), "client does not read its events")
			ss.stop()
		}
	}
}

// send queues a message, waiting while the queue is full.
func (ss *session) send(op obsws.OpCode, d any) {
	data, err := obsws.Encode(op, d)
	if err != nil {
		ss.srv.opts.Log.Error("obs-websocket: cannot encode a reply", "err", err)
		return
	}
	select {
	case ss.out <- data:
	case <-ss.done:
	}
}

func (ss *session) write() {
	for {
		select {
		case data := <-ss.out:
			if data == nil {
				ss.close(websocket.CloseGoingAway, "the studio is exiting")
				ss.stop()
				return
			}
			_ = ss.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := ss.conn.WriteMessage(websocket.TextMessage, data); err != nil {
				ss.stop()
				return
			}
			ss.sent.Add(1)
		case <-ss.done:
			return
		}
	}
}

// close sends a close frame with the protocol's code and reason.
func (ss *session) close(code int, reason string) {
	if len(reason) > 120 { // a close frame's reason fits in 123 bytes
		reason = reason[:120]
	}
	_ = ss.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

// linger reads and drops what the client is still sending before the
// connection closes: closed with unread data, the connection would be
// reset and the client would lose the close frame that says why.
func (ss *session) linger() {
	tcp, ok := ss.conn.NetConn().(*net.TCPConn)
	if !ok {
		return
	}
	_ = tcp.CloseWrite()
	_ = tcp.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _ = io.Copy(io.Discard, io.LimitReader(tcp, 4*maxMessage))
}

// stop ends the session: the reader's connection and the writer.
func (ss *session) stop() {
	ss.once.Do(func() {
		close(ss.done)
		ss.conn.Close()
	})
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
