package testpeer

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/h264writer"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// WHIPServer is a WHIP endpoint for tests: its own HTTP handler (POST an
// offer, DELETE the resource) and a receiving pion peer per session that
// writes the H.264 it receives as Annex-B (pion's depacketizer) and the
// Opus as Ogg, for FFmpeg to decode. It shares pion's ICE, DTLS and SRTP
// with OnAir's sender, but nothing of how OnAir builds its offer, sends
// HTTP, packetizes H.264 or times its packets, and FFmpeg judges what
// arrived.
type WHIPServer struct {
	URL   string // http://127.0.0.1:PORT/whip
	Token string // the bearer token it wants
	dir   string
	srv   *http.Server

	// OnVideo, when set before the first offer, sees every video RTP
	// packet as it arrives (for latency measurements).
	OnVideo func(*rtp.Packet)

	mu       sync.Mutex
	Fail     func() (status int, body string) // when set, answers every offer so
	sessions []*WHIPSession
	deletes  int
	offers   int
}

// WHIPSession is one publish session the server accepted.
type WHIPSession struct {
	pc              *webrtc.PeerConnection
	Video, Audio    string // the files written
	mu              sync.Mutex
	videoPkts, opus int
	closed          chan struct{}
	once            sync.Once
}

// StartWHIPServer listens on a free loopback port until the test ends.
func StartWHIPServer(t testing.TB, token string) *WHIPServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &WHIPServer{URL: fmt.Sprintf("http://%s/whip", l.Addr()), Token: token, dir: t.TempDir()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whip", s.post)
	mux.HandleFunc("DELETE /whip/session/{n}", s.delete)
	s.srv = &http.Server{Handler: mux}
	go s.srv.Serve(l)
	t.Cleanup(func() {
		s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, ss := range s.sessions {
			ss.close()
		}
	})
	return s
}

func (s *WHIPServer) post(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		http.Error(w, "wrong token", http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Content-Type") != "application/sdp" {
		http.Error(w, "want application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	offer, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	s.mu.Lock()
	s.offers++
	fail := s.Fail
	n := len(s.sessions)
	s.mu.Unlock()
	if fail != nil {
		code, body := fail()
		w.WriteHeader(code)
		io.WriteString(w, body)
		return
	}
	ss, answer, err := s.accept(string(offer), n)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.sessions = append(s.sessions, ss)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", fmt.Sprintf("/whip/session/%d", n))
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, answer)
}

func (s *WHIPServer) accept(offer string, n int) (*WHIPSession, string, error) {
	var m webrtc.MediaEngine
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, "", err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", err
	}
	ss := &WHIPSession{pc: pc, closed: make(chan struct{}),
		Video: filepath.Join(s.dir, fmt.Sprintf("session%d.h264", n)),
		Audio: filepath.Join(s.dir, fmt.Sprintf("session%d.ogg", n))}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		f, err := os.Create(map[bool]string{true: ss.Video, false: ss.Audio}[tr.Kind() == webrtc.RTPCodecTypeVideo])
		if err != nil {
			return
		}
		defer f.Close()
		var write func(*rtp.Packet) error
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			hw := h264writer.NewWith(f)
			write = hw.WriteRTP
		} else {
			ow, err := oggwriter.NewWith(f, 48000, 2)
			if err != nil {
				return
			}
			defer ow.Close()
			write = ow.WriteRTP
		}
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if write(pkt) != nil {
				return
			}
			if s.OnVideo != nil && tr.Kind() == webrtc.RTPCodecTypeVideo {
				s.OnVideo(pkt)
			}
			ss.mu.Lock()
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				ss.videoPkts++
			} else {
				ss.opus++
			}
			ss.mu.Unlock()
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		pc.Close()
		return nil, "", err
	}
	answer, err := pc.CreateAnswer(nil)
	if err == nil {
		err = pc.SetLocalDescription(answer)
	}
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	select {
	case <-webrtc.GatheringCompletePromise(pc):
	case <-time.After(10 * time.Second):
	}
	return ss, pc.LocalDescription().SDP, nil
}

func (s *WHIPServer) delete(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		http.Error(w, "wrong token", http.StatusUnauthorized)
		return
	}
	var n int
	fmt.Sscan(r.PathValue("n"), &n)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 0 || n >= len(s.sessions) {
		http.NotFound(w, r)
		return
	}
	s.deletes++
	s.sessions[n].close()
	w.WriteHeader(http.StatusOK)
}

// Sessions are the sessions accepted so far.
func (s *WHIPServer) Sessions() []*WHIPSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*WHIPSession(nil), s.sessions...)
}

// Offers counts the offers POSTed, accepted or not.
func (s *WHIPServer) Offers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offers
}

// Deletes counts the DELETEs of a session's resource.
func (s *WHIPServer) Deletes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deletes
}

// SetFail makes the server answer every offer with status and body (0: accept).
func (s *WHIPServer) SetFail(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		s.Fail = nil
		return
	}
	s.Fail = func() (int, string) { return status, body }
}

// Packets counts the video RTP packets and Opus packets received.
func (ss *WHIPSession) Packets() (video, opus int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.videoPkts, ss.opus
}

// Close ends the session's peer (as when the resource is deleted), which
// flushes its files.
func (ss *WHIPSession) Close() { ss.close() }

func (ss *WHIPSession) close() {
	ss.once.Do(func() {
		ss.pc.Close()
		close(ss.closed)
	})
}
