package output

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	rtmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/handshake"
	"github.com/yutopp/go-rtmp/message"

	"github.com/onair-studio/onair/internal/output/rtmpwire"
)

// The RTMP client is driven here, on go-rtmp's chunk streamer, handshake and
// message codecs, rather than through go-rtmp's ClientConn: ClientConn dials
// its own socket (so the connection cannot be wrapped to repair extended
// timestamps), its Connect and CreateStream wait forever when the server
// rejects the application and just closes, it drops the server's onStatus
// answer to publish, and it updates its stream table from two goroutines.
// Here the whole setup runs in one goroutine under one deadline, and the
// server's answers are read and reported.

const (
	chunkSize   = 4096
	csidControl = 2
	csidCommand = 3
	csidData    = 5
	csidVideo   = 6
	csidAudio   = 7
)

type sessionOptions struct {
	rootCAs      *x509.CertPool
	writeTimeout time.Duration
}

// session is one RTMP connection publishing one stream. After open, the
// publisher goroutine is its only writer; a reader goroutine takes what the
// server sends.
type session struct {
	dest     destination
	raw      net.Conn
	cs       *rtmp.ChunkStreamer
	in       *transportReader
	streamID uint32

	readDone chan struct{}
	readErr  error
	pings    chan uint32
	closed   sync.Once
}

// sendBuffer is the socket send buffer of a session (the kernel doubles
// it): about two seconds of 1 Mbit/s video, under a second at usual
// streaming bitrates.
const sendBuffer = 128 << 10

// openSession dials, handshakes, connects to the application, creates a
// stream and publishes the key. ctx bounds all of it: on its deadline or
// cancellation the socket is closed under whatever step is waiting.
func openSession(ctx context.Context, d destination, o sessionOptions) (_ *session, err error) {
	step := "connecting"
	s := &session{dest: d, readDone: make(chan struct{}), pings: make(chan uint32, 1)}
	defer func() {
		if err != nil {
			err = s.explain(ctx, step, err)
			if s.cs != nil {
				s.cs.Close()
			}
			if s.raw != nil {
				s.raw.Close()
			}
		}
	}()
	var dialer net.Dialer
	if s.raw, err = dialer.DialContext(ctx, "tcp", d.addr); err != nil {
		return nil, err
	}
	if tc, ok := s.raw.(*net.TCPConn); ok {
		// A fixed send buffer: left to autotuning, the kernel would soak up
		// tens of seconds of video for a stalled server, all of it late.
		// Kept small, a stall reaches our queue, which drops to the next
		// keyframe and counts what it drops.
		_ = tc.SetWriteBuffer(sendBuffer)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = s.raw.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = s.raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	conn := s.raw
	if d.tls {
		step = "TLS handshake"
		tc := tls.Client(s.raw, &tls.Config{ServerName: d.host, RootCAs: o.rootCAs, MinVersion: tls.VersionTLS12})
		if err = tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		conn = tc
	}
	wc := rtmpwire.NewConn(conn, o.writeTimeout)
	step = "RTMP handshake"
	if err = handshake.HandshakeWithServer(wc, wc, &handshake.Config{}); err != nil {
		return nil, err
	}
	// go-rtmp flushes after every chunk; the buffer makes that one write.
	s.in = &transportReader{r: bufio.NewReaderSize(wc, 16<<10)}
	s.cs = rtmp.NewChunkStreamer(s.in, bufio.NewWriterSize(wc, chunkSize+64), nil)

	// Set the chunk size before anything else is written: go-rtmp's chunk
	// writer goroutine reads it unlocked, so it must not change under it.
	if err = s.cs.SelfState().SetChunkSize(chunkSize); err != nil {
		return nil, err
	}
	if err = s.write(ctx, csidControl, 0, 0, &message.SetChunkSize{ChunkSize: chunkSize}); err != nil {
		return nil, err
	}

	step = fmt.Sprintf("connect to application %q", d.app)
	if err = s.command(ctx, 0, "connect", 1, map[string]any{
		"app": d.app, "type": "nonprivate", "flashVer": "FMLE/3.0 (compatible; OnAir)", "tcUrl": d.tcURL,
	}); err != nil {
		return nil, err
	}
	if _, err = s.awaitResult(1); err != nil {
		return nil, err
	}

	step = "createStream"
	// releaseStream and FCPublish are what OBS and FFmpeg send first; some
	// ingests expect them. Nobody waits for their answers.
	_ = s.command(ctx, 0, "releaseStream", 2, nil, d.key)
	_ = s.command(ctx, 0, "FCPublish", 3, nil, d.key)
	if err = s.command(ctx, 0, "createStream", 4, nil); err != nil {
		return nil, err
	}
	args, err := s.awaitResult(4)
	if err != nil {
		return nil, err
	}
	id, ok := arg(args, 1).(float64)
	if !ok {
		return nil, fmt.Errorf("createStream answer has no stream id")
	}
	s.streamID = uint32(id)

	step = "publish"
	if err = s.command(ctx, s.streamID, "publish", 5, nil, d.key, "live"); err != nil {
		return nil, err
	}
	if err = s.awaitPublish(); err != nil {
		return nil, err
	}

	// Live: no more overall deadline; each socket write has its own.
	if !stop() {
		return nil, context.DeadlineExceeded
	}
	_ = s.raw.SetDeadline(time.Time{})
	go s.readLoop()
	return s, nil
}

// explain turns a setup failure into an error that says what failed, in
// words a streamer can act on, without the stream key.
func (s *session) explain(ctx context.Context, step string, err error) error {
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		err = errors.New("canceled")
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout():
		err = errors.New("no answer in time")
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		switch {
		case strings.HasPrefix(step, "connect to"):
			err = errors.New("server closed the connection (application rejected?)")
		case step == "publish":
			err = errors.New("server closed the connection (stream key rejected?)")
		default:
			err = errors.New("server closed the connection")
		}
	}
	return fmt.Errorf("%s: %s: %s", s.dest.masked, step, s.scrub(err.Error()))
}

// scrub masks the stream key where a server or library repeats it.
func (s *session) scrub(text string) string { return MaskText(text, s.dest.key) }

func (s *session) write(ctx context.Context, csid int, ts uint32, streamID uint32, m message.Message) error {
	select {
	case <-s.cs.Done():
		return s.writeErr()
	default:
	}
	if err := s.cs.Write(ctx, csid, ts, &rtmp.ChunkMessage{StreamID: streamID, Message: m}); err != nil {
		return fmt.Errorf("send: %w", rtmpwire.PlainError(err))
	}
	return nil
}

func (s *session) writeErr() error {
	if err := s.cs.Err(); err != nil {
		return fmt.Errorf("send: %w", rtmpwire.PlainError(err))
	}
	return errors.New("send: connection closed")
}

// command sends an AMF0 command message.
func (s *session) command(ctx context.Context, streamID uint32, name string, txn int64, args ...any) error {
	var body bytes.Buffer
	enc := message.NewAMFEncoder(&body, message.EncodingTypeAMF0)
	for _, a := range args {
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return s.write(ctx, csidCommand, 0, streamID, &message.CommandMessage{
		CommandName: name, TransactionID: txn, Encoding: message.EncodingTypeAMF0, Body: &body,
	})
}

// transportReader remembers whether reading from the connection failed, so
// that a message go-rtmp cannot decode is told apart from a broken
// connection (both come back from ChunkStreamer.Read as an error, often
// io.EOF: the decoder ran off the end of the message's body).
type transportReader struct {
	r   io.Reader
	err error
}

func (t *transportReader) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	if err != nil {
		t.err = err
	}
	return n, err
}

// read returns the next message the server sent. A message go-rtmp cannot
// decode was still read whole, so it is skipped instead of ending the
// session: FFmpeg's own RTMP server answers FCPublish with an onFCPublish
// that has no transaction id, and other servers send message types go-rtmp
// does not implement (AMF3 commands, aggregates, shared objects).
func (s *session) read() (rtmp.ChunkMessage, error) {
	for {
		var cm rtmp.ChunkMessage
		_, _, err := s.cs.Read(&cm)
		if err == nil || s.in.err != nil {
			return cm, err
		}
		select {
		case <-s.cs.Done(): // the error came from acknowledging what was read
			return cm, s.writeErr()
		default:
		}
	}
}

// next reads messages until a command arrives, handling control messages.
func (s *session) next() (*message.CommandMessage, []any, error) {
	for {
		cm, err := s.read()
		if err != nil {
			return nil, nil, err
		}
		switch m := cm.Message.(type) {
		case *message.SetChunkSize:
			if err := s.cs.PeerState().SetChunkSize(m.ChunkSize); err != nil {
				return nil, nil, err
			}
		case *message.CommandMessage:
			return m, decodeArgs(m), nil
		}
	}
}

// awaitResult waits for the _result or _error of transaction txn.
func (s *session) awaitResult(txn int64) ([]any, error) {
	for {
		m, args, err := s.next()
		if err != nil {
			return nil, err
		}
		if m.TransactionID != txn {
			continue
		}
		switch m.CommandName {
		case "_result":
			return args, nil
		case "_error":
			code, desc := status(args)
			return nil, fmt.Errorf("server refused: %s %s", code, desc)
		}
	}
}

// awaitPublish waits for the onStatus answer to publish.
func (s *session) awaitPublish() error {
	for {
		m, args, err := s.next()
		if err != nil {
			return err
		}
		if m.CommandName == "_error" {
			code, desc := status(args)
			return fmt.Errorf("server refused: %s %s", code, desc)
		}
		if m.CommandName != "onStatus" {
			continue
		}
		code, desc := status(args)
		switch {
		case code == "NetStream.Publish.Start":
			return nil
		case level(args) == "error" || strings.HasSuffix(code, ".BadName") || strings.HasSuffix(code, ".Failed"):
			return fmt.Errorf("server refused the stream key: %s %s", code, desc)
		}
	}
}

// readLoop takes what the server sends while streaming; it ends when the
// connection does, or when the server says the stream is over.
func (s *session) readLoop() {
	defer close(s.readDone)
	defer func() {
		if r := recover(); r != nil { // a go-rtmp bug must not take the process down
			s.readErr = fmt.Errorf("receive: %v", r)
		}
	}()
	for {
		cm, err := s.read()
		if err != nil {
			s.readErr = fmt.Errorf("receive: %w", rtmpwire.PlainError(err))
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				s.readErr = errors.New("server closed the connection")
			}
			return
		}
		switch m := cm.Message.(type) {
		case *message.SetChunkSize:
			_ = s.cs.PeerState().SetChunkSize(m.ChunkSize)
		case *message.UserCtrl:
			if ping, ok := m.Event.(*message.UserCtrlEventPingRequest); ok {
				select {
				case s.pings <- ping.Timestamp:
				default:
				}
			}
		case *message.CommandMessage:
			if m.CommandName == "onStatus" {
				args := decodeArgs(m)
				if level(args) == "error" {
					code, desc := status(args)
					s.readErr = fmt.Errorf("server ended the stream: %s", s.scrub(code+" "+desc))
					return
				}
			}
		}
	}
}

// pong answers a server's ping so it keeps the connection.
func (s *session) pong(ctx context.Context, ts uint32) error {
	return s.write(ctx, csidControl, 0, 0, &message.UserCtrl{Event: &message.UserCtrlEventPingResponse{Timestamp: ts}})
}

// close ends the session. A graceful close unpublishes and lets what was
// queued reach the server first, within a second.
func (s *session) close(graceful bool) {
	s.closed.Do(func() {
		if graceful {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = s.write(ctx, csidVideo, 0, s.streamID, &message.VideoMessage{Payload: bytes.NewReader(rtmpwire.AVCEndOfSequence())})
			_ = s.command(ctx, 0, "FCUnpublish", 6, nil, s.dest.key)
			_ = s.command(ctx, 0, "deleteStream", 7, nil, s.streamID)
			// Reserving a chunk stream's writer waits until its last message is out.
			_, _ = s.cs.NewChunkWriter(ctx, csidVideo)
			_, _ = s.cs.NewChunkWriter(ctx, csidCommand)
			cancel()
		}
		s.cs.Close()
		s.raw.Close()
		<-s.readDone
	})
}

func decodeArgs(m *message.CommandMessage) []any {
	var args []any
	dec := message.NewAMFDecoder(m.Body, m.Encoding)
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			return args
		}
		args = append(args, v)
	}
}

func arg(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}

// status finds the code and description of an answer's information object.
func status(args []any) (code, desc string) {
	for _, a := range args {
		if obj, ok := a.(map[string]any); ok {
			c, _ := obj["code"].(string)
			d, _ := obj["description"].(string)
			if c != "" || d != "" {
				return c, d
			}
		}
	}
	return "", ""
}

func level(args []any) string {
	for _, a := range args {
		if obj, ok := a.(map[string]any); ok {
			if l, ok := obj["level"].(string); ok {
				return l
			}
		}
	}
	return ""
}
