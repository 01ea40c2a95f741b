// Package rtsp is the return path between the encoder and the master: the
// encoder publishes its H.264 (and, on the program, its AAC audio) over RTSP
// (TCP, loopback) to the master's server, with credentials the master hands
// it for that run. The server turns what arrives into stream units for the
// master's readers. The same server lets any RTSP player watch the program
// as a monitor, read-only and behind its own credentials.
package rtsp

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/pion/rtp"

	"github.com/onair-studio/onair/internal/stream"
)

// RenditionPath is where the encoder publishes a rendition on the return
// path (the program goes to the path the master hands it). It lives here, not
// in the encoder, so the master names paths without linking the encoder's
// codecs.
func RenditionPath(name string) string { return "rendition/" + name }

// Credentials are a user and password.
type Credentials struct{ User, Pass string }

// RandomCredentials are made fresh for each run.
func RandomCredentials(user string) Credentials {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return Credentials{User: user, Pass: hex.EncodeToString(b)}
}

// AccessUnit is one encoded picture as NAL units without start codes.
type AccessUnit struct {
	NALUs [][]byte
	// PTS on the publisher's clock (it starts over when the publisher does).
	// The encoder uses no B-frames, so decode order is presentation order.
	PTS time.Duration
}

// aacSamplesPerUnit is the length of one AAC-LC access unit, in samples
// (and so in RTP ticks at the sample rate).
const aacSamplesPerUnit = 1024

// Server is the master's RTSP server.
type Server struct {
	publish, read Credentials
	sink          stream.Sink
	log           *slog.Logger
	srv           *gortsplib.Server
	addr          string

	mu      sync.RWMutex
	streams map[string]*published // by path, without the leading slash
	players map[*gortsplib.ServerSession]bool
	// watched says a monitor plays: only then is each packet copied out
	// for monitors (an RTP marshal and an allocation a packet otherwise).
	watched atomic.Bool
}

// published is one publisher's stream: its tracks, and the stream that
// serves them to monitors.
type published struct {
	publisher *gortsplib.ServerSession
	video     *description.Media
	h264      *format.H264
	audio     *description.Media // nil: no sound
	aac       *format.MPEG4Audio
	out       *gortsplib.ServerStream
}

// NewServer listens on addr (host:port, port 0 picks one).
func NewServer(addr string, publish, read Credentials, sink stream.Sink, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rtsp server: %w", err)
	}
	s := &Server{publish: publish, read: read, sink: sink, log: log, addr: ln.Addr().String(), streams: map[string]*published{},
		players: map[*gortsplib.ServerSession]bool{}}
	s.srv = &gortsplib.Server{
		Handler:     s,
		RTSPAddress: s.addr,
		// The listener is made above so that port 0 works and the address
		// is known before Start.
		Listen:       func(string, string) (net.Listener, error) { return bufferedListener{ln}, nil },
		WriteTimeout: 5 * time.Second,
		// Room for a few keyframes per reader, so a monitor on a busy
		// machine does not lose packets.
		WriteQueueSize: 1024,
	}
	if err := s.srv.Start(); err != nil {
		ln.Close()
		return nil, fmt.Errorf("rtsp server: %w", err)
	}
	return s, nil
}

// Close stops the server and disconnects everyone.
func (s *Server) Close() { s.srv.Close() }

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.addr }

// PublishURL is what a publisher is given for path.
func (s *Server) PublishURL(path string) string { return s.url(s.publish, path) }

// MonitorURL is what a player is given for path.
func (s *Server) MonitorURL(path string) string { return s.url(s.read, path) }

func (s *Server) url(c Credentials, path string) string {
	u := url.URL{Scheme: "rtsp", User: url.UserPassword(c.User, c.Pass), Host: s.addr, Path: "/" + path}
	return u.String()
}

func cleanPath(p string) string { return strings.Trim(p, "/") }

func unauthorized() (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
}

// OnAnnounce accepts a publisher with the publish credentials only.
func (s *Server) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	if !ctx.Conn.VerifyCredentials(ctx.Request, s.publish.User, s.publish.Pass) {
		return unauthorized()
	}
	st := &published{publisher: ctx.Session}
	st.video = ctx.Description.FindFormat(&st.h264)
	if st.video == nil {
		return &base.Response{StatusCode: base.StatusBadRequest}, fmt.Errorf("publisher offers no H.264 track")
	}
	// Sound is optional: an encoder without it still publishes its picture.
	st.audio = ctx.Description.FindFormat(&st.aac)
	if st.audio != nil && st.aac.Config == nil {
		return &base.Response{StatusCode: base.StatusBadRequest}, fmt.Errorf("publisher's MPEG-4 Audio track has no AudioSpecificConfig")
	}
	path := cleanPath(ctx.Path)
	st.out = &gortsplib.ServerStream{Server: s.srv, Desc: ctx.Description}
	if err := st.out.Initialize(); err != nil {
		return &base.Response{StatusCode: base.StatusInternalServerError}, err
	}
	s.mu.Lock()
	old := s.streams[path]
	s.streams[path] = st
	s.mu.Unlock()
	if old != nil {
		// A new encoder replaces one that is still connected: the old one
		// is stale by definition.
		old.out.Close()
		old.publisher.Close()
	}
	sps, pps := st.h264.SafeParams()
	tracks := stream.Tracks{Video: &stream.H264{SPS: sps, PPS: pps}}
	if st.aac != nil {
		tracks.Audio = st.aac.Config
	}
	s.log.Info("rtsp publisher announced", "path", path, "audio", st.aac != nil)
	s.sink.SourceStarted(path, tracks)
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnRecord routes the publisher's packets to the sink and to monitors. Each
// packet's PTS is its own RTP timestamp on the publisher's clock (both
// tracks count from the same start), so audio and video stay aligned
// whichever began first.
func (s *Server) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	path := cleanPath(ctx.Path)
	s.mu.RLock()
	st := s.streams[path]
	s.mu.RUnlock()
	if st == nil || st.publisher != ctx.Session {
		return &base.Response{StatusCode: base.StatusBadRequest}, fmt.Errorf("no announced stream at %s", path)
	}
	dec, err := st.h264.CreateDecoder()
	if err != nil {
		return &base.Response{StatusCode: base.StatusInternalServerError}, err
	}
	var videoClock stream.Unwrap
	ctx.Session.OnPacketRTP(st.video, st.h264, func(pkt *rtp.Packet) {
		if s.watched.Load() {
			_ = st.out.WritePacketRTP(st.video, pkt)
		}
		pts := stream.Duration(videoClock.Next(pkt.Timestamp), 90000)
		nalus, err := dec.Decode(pkt)
		if err != nil {
			return // more packets needed, or a loss: the next keyframe recovers
		}
		s.sink.Unit(path, stream.VideoUnit(nalus, pts))
	})
	if st.audio != nil {
		adec, err := st.aac.CreateDecoder()
		if err != nil {
			return &base.Response{StatusCode: base.StatusInternalServerError}, err
		}
		var audioClock stream.Unwrap
		rate := int64(st.aac.ClockRate())
		ctx.Session.OnPacketRTP(st.audio, st.aac, func(pkt *rtp.Packet) {
			if s.watched.Load() {
				_ = st.out.WritePacketRTP(st.audio, pkt)
			}
			ticks := audioClock.Next(pkt.Timestamp)
			aus, err := adec.Decode(pkt)
			if err != nil {
				return // a fragment, or a loss: the next packet recovers
			}
			for i, au := range aus {
				s.sink.Unit(path, stream.AudioUnit(au, stream.Duration(ticks+int64(i)*aacSamplesPerUnit, rate)))
			}
		})
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSessionClose ends a stream when its publisher leaves.
func (s *Server) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	s.mu.Lock()
	delete(s.players, ctx.Session)
	s.watched.Store(len(s.players) > 0)
	var gone []string
	for path, st := range s.streams {
		if st.publisher == ctx.Session {
			st.out.Close()
			delete(s.streams, path)
			gone = append(gone, path)
		}
	}
	s.mu.Unlock()
	for _, path := range gone {
		s.log.Info("rtsp publisher left", "path", path, "err", ctx.Error)
		s.sink.SourceStopped(path)
	}
}

// OnDescribe serves monitors with the read credentials.
func (s *Server) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return s.readerStream(ctx.Conn, ctx.Request, ctx.Path)
}

// OnSetup lets the publisher set up its tracks and checks readers again.
func (s *Server) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusOK}, nil, nil
	}
	return s.readerStream(ctx.Conn, ctx.Request, ctx.Path)
}

func (s *Server) readerStream(c *gortsplib.ServerConn, req *base.Request, path string) (*base.Response, *gortsplib.ServerStream, error) {
	if !c.VerifyCredentials(req, s.read.User, s.read.Pass) {
		res, err := unauthorized()
		return res, nil, err
	}
	s.mu.RLock()
	st := s.streams[cleanPath(path)]
	s.mu.RUnlock()
	if st == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, st.out, nil
}

// OnPlay lets an authenticated reader play.
func (s *Server) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	s.mu.Lock()
	s.players[ctx.Session] = true
	s.watched.Store(true)
	s.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, nil
}
