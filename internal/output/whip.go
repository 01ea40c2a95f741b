package output

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/internal/timeline"
)

// WHIPPublisher publishes H.264 (as the encoder made it) and Opus sound
// over WebRTC to one WHIP endpoint. Like Publisher, one goroutine owns the
// session behind a bounded queue that never blocks the caller, and it
// connects once: after a failure, Close it and make a new one.
type WHIPPublisher struct {
	rawPublisher
	dest    whipTarget
	client  *http.Client
	pcState webrtc.PeerConnectionState // guarded by mu
	kbps    atomic.Uint64              // what was sent over the last second

	// owned by the publisher goroutine
	tl           *timeline.Timeline
	video, audio *webrtc.TrackLocalStaticRTP
	vpack, apack rtp.Packetizer
	vbase, abase uint32 // random RTP timestamp origins
	opus         *opusTranscoder
	sps, pps     []byte
	ready        bool
	rateStart    time.Time
	rateBytes    uint64
}

// whipAnswerLimit bounds the SDP answer read from a server.
const whipAnswerLimit = 64 << 10

// NewWHIPPublisher starts publishing to cfg.URL (whip+https://) in the
// background. It returns an error at once only for a URL that cannot work.
func NewWHIPPublisher(cfg Config) (*WHIPPublisher, error) {
	t, err := parseWHIP(cfg.URL)
	if err != nil {
		return nil, err
	}
	// RTP video counts 90 kHz; the timeout covers HTTP, ICE and DTLS.
	p := &WHIPPublisher{dest: t, tl: timeline.New(cfg.TimelineStart, 90000)}
	p.init(cfg, 10*time.Second, t.masked)
	p.client = &http.Client{
		Timeout:   p.cfg.Timeout,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cfg.RootCAs}},
		// A redirect would carry the token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	go p.run()
	return p, nil
}

// Stats returns counters, state and the peer connection's state and rate.
func (p *WHIPPublisher) Stats() Stats {
	s := p.rawPublisher.Stats()
	p.mu.Lock()
	pcs := p.pcState
	p.mu.Unlock()
	if pcs != webrtc.PeerConnectionStateUnknown {
		s.Link = Link{State: pcs.String(), BitrateKbps: float64(p.kbps.Load())}
	}
	return s
}

func (p *WHIPPublisher) run() {
	defer close(p.done)
	p.log.Info("whip output connecting")
	failed := make(chan webrtc.PeerConnectionState, 1)
	pc, resource, err := p.connect(failed)
	if pc != nil {
		defer func() {
			pc.Close()
			p.deleteResource(resource)
		}()
	}
	if err == nil {
		err = p.awaitConnected(failed)
	}
	if err == nil {
		p.setState(StateLive, nil)
		close(p.live)
		p.log.Info("whip output live")
		if err = p.stream(failed); err != nil {
			err = fmt.Errorf("%s: connection lost: %w", p.dest.masked, err)
		}
	}
	if p.opus != nil {
		p.opus.Close()
	}
	if err != nil && p.ctx.Err() == nil {
		p.setState(StateFailed, err)
		p.log.Warn("whip output failed", "err", err)
		return
	}
	p.setState(StateClosed, nil)
	p.log.Info("whip output closed", "frames", p.sent.Load())
}

// newAPI is pion with its default codecs and interceptors (NACK, reports,
// congestion feedback), loopback candidates allowed and no mDNS.
func newAPI() (*webrtc.API, error) {
	var m webrtc.MediaEngine
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	var s webrtc.SettingEngine
	s.SetIncludeLoopbackCandidate(true)
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.SetICETimeouts(3*time.Second, 6*time.Second, time.Second)
	return webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(s)), nil
}

// connect makes the peer connection, POSTs its offer and applies the
// answer. It returns the resource URL to DELETE, when the server gave one.
func (p *WHIPPublisher) connect(failed chan<- webrtc.PeerConnectionState) (*webrtc.PeerConnection, string, error) {
	api, err := newAPI()
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", p.dest.masked, err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", p.dest.masked, err)
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.mu.Lock()
		p.pcState = s
		p.mu.Unlock()
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			select {
			case failed <- s:
			default:
			}
		}
	})
	if err := p.addTracks(pc); err != nil {
		return pc, "", fmt.Errorf("%s: %w", p.dest.masked, err)
	}
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		return pc, "", fmt.Errorf("%s: making the offer: %w", p.dest.masked, err)
	}
	select { // one offer with every candidate: WHIP servers need no trickle
	case <-webrtc.GatheringCompletePromise(pc):
	case <-p.ctx.Done():
		return pc, "", p.ctx.Err()
	}
	answer, resource, err := p.post(pc.LocalDescription().SDP)
	if err != nil {
		return pc, resource, fmt.Errorf("%s: %s", p.dest.masked, MaskText(err.Error(), p.dest.token))
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return pc, resource, fmt.Errorf("%s: the server's SDP answer does not fit the offer: %v", p.dest.masked, err)
	}
	return pc, resource, nil
}

// addTracks adds one send-only H.264 track and one Opus track.
func (p *WHIPPublisher) addTracks(pc *webrtc.PeerConnection) error {
	var err error
	p.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	}, "video", "onair")
	if err != nil {
		return err
	}
	p.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
	}, "audio", "onair")
	if err != nil {
		return err
	}
	for _, tr := range []*webrtc.TrackLocalStaticRTP{p.video, p.audio} {
		sender, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return err
		}
		go p.readRTCP(sender.Sender(), tr == p.video)
	}
	p.vpack = rtp.NewPacketizer(1200, 0, 0, &codecs.H264Payloader{}, rtp.NewRandomSequencer(), 90000)
	p.apack = rtp.NewPacketizer(1200, 0, 0, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000)
	p.vbase, p.abase = rand.Uint32(), rand.Uint32()
	return nil
}

// readRTCP lets pion's interceptors see the receiver's reports, and turns
// a picture-loss report into a keyframe request.
func (p *WHIPPublisher) readRTCP(s *webrtc.RTPSender, video bool) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if video {
					p.q.requestKey()
				}
			}
		}
	}
}

// post sends the offer and returns the answer and the resource URL. Its
// errors say what the server did wrong.
func (p *WHIPPublisher) post(offer string) (answer, resource string, err error) {
	req, err := http.NewRequestWithContext(p.ctx, http.MethodPost, p.dest.endpoint, strings.NewReader(offer))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	if p.dest.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.dest.token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which the caller names masked
		}
		return "", "", fmt.Errorf("sending the offer: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, whipAnswerLimit+1))
	if err != nil {
		return "", "", fmt.Errorf("reading the answer: %v", err)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := url.Parse(p.dest.endpoint); err == nil {
			if r, err := u.Parse(loc); err == nil {
				resource = r.String()
			}
		}
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", resource, fmt.Errorf("the server refused the token (HTTP %s)", resp.Status)
	case resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK:
		return "", resource, fmt.Errorf("the server answered HTTP %s: %s", resp.Status, firstLine(body))
	case len(body) > whipAnswerLimit:
		return "", resource, fmt.Errorf("the server's SDP answer is larger than %d bytes", whipAnswerLimit)
	}
	if err := checkAnswer(body); err != nil {
		return "", resource, fmt.Errorf("the server's answer is not a usable SDP answer: %v", err)
	}
	return string(body), resource, nil
}

// firstLine is the start of a server's error body, for the status line.
func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte("\n"))
	s := strings.ToValidUTF8(strings.TrimSpace(string(line)), "?")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "(no body)"
	}
	return s
}

// deleteResource ends the session at the server (WHIP's DELETE).
func (p *WHIPPublisher) deleteResource(resource string) {
	if resource == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, resource, nil)
	if err != nil {
		return
	}
	if p.dest.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.dest.token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.log.Warn("whip output: ending the session at the server failed", "err", MaskText(err.Error(), p.dest.token))
		return
	}
	resp.Body.Close()
}

// awaitConnected waits for ICE and DTLS to connect.
func (p *WHIPPublisher) awaitConnected(failed <-chan webrtc.PeerConnectionState) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	deadline := time.NewTimer(p.cfg.Timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		s := p.pcState
		p.mu.Unlock()
		if s == webrtc.PeerConnectionStateConnected {
			return nil
		}
		select {
		case <-p.ctx.Done():
			return p.ctx.Err()
		case s := <-failed:
			return fmt.Errorf("%s: the WebRTC connection %s before it was up (ICE or DTLS failed)", p.dest.masked, s)
		case <-deadline.C:
			return fmt.Errorf("%s: the WebRTC connection was not up within %v (no ICE path to the server?)", p.dest.masked, p.cfg.Timeout)
		case <-t.C:
		}
	}
}

// stream sends queued units until Close or a connection failure.
func (p *WHIPPublisher) stream(failed <-chan webrtc.PeerConnectionState) error {
	for {
		select {
		case <-p.ctx.Done():
			return nil
		case s := <-failed:
			return fmt.Errorf("the WebRTC connection %s", s)
		case <-p.q.wake:
			if err := p.sendQueued(p.send); err != nil {
				return err
			}
		}
	}
}

func (p *WHIPPublisher) send(u *accessUnit) error {
	if u.newSource {
		p.tl.NewSource()
		p.ready = false
		if u.audio {
			return nil // a source begins with its keyframe
		}
	}
	if u.audio {
		return p.sendAudio(u)
	}
	if u.sps != nil {
		p.sps, p.pps = u.sps, u.pps
	}
	au := u.nalus
	if u.key {
		if p.sps == nil {
			p.drop()
			return nil
		}
		p.ready = true
		if u.sps == nil { // parameter sets given out of band: a joining decoder needs them here
			au = append([][]byte{p.sps, p.pps}, au...)
		}
	} else if !p.ready {
		p.drop()
		return nil
	}
	stamp := p.tl.Stamp(u.dts, u.wall)
	b, _ := h264.AnnexB(au).Marshal() // pion's payloader wants start codes
	pkts := p.vpack.Packetize(b, 0)
	n := 0
	for _, pkt := range pkts {
		pkt.Timestamp = p.vbase + uint32(stamp)
		n += len(pkt.Payload)
		if err := p.video.WriteRTP(pkt); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	p.sent.Add(1)
	p.bytes.Add(uint64(n))
	p.meter(n)
	p.timeline.Store(int64(stream.Duration(stamp, 90000)))
	return nil
}

// sendAudio transcodes an AAC frame and sends the Opus packets that are
// ready, stamped on the pictures' timeline.
func (p *WHIPPublisher) sendAudio(u *accessUnit) error {
	stamp, ok := p.tl.Follow(u.dts)
	if !p.ready || !ok {
		return nil
	}
	if p.opus == nil || !bytes.Equal(p.opus.asc, u.asc) {
		if p.opus != nil {
			p.opus.Close()
		}
		var err error
		if p.opus, err = newOpusTranscoder(u.asc, p.cfg.OpusCommand, p.log); err != nil {
			p.log.Warn("whip output: no sound", "err", err)
			p.opus = nil
			return nil
		}
	}
	for _, pkt := range p.opus.Transcode(u.aac, stream.Duration(stamp, 90000)) {
		for _, r := range p.apack.Packetize(pkt.Data, 0) {
			r.Timestamp = p.abase + uint32(stream.Ticks(pkt.PTS, 48000))
			p.meter(len(r.Payload))
			if err := p.audio.WriteRTP(r); err != nil {
				return fmt.Errorf("send: %w", err)
			}
		}
		p.sounds.Add(1)
	}
	return nil
}

// meter keeps the send rate of the last second for status.
func (p *WHIPPublisher) meter(n int) {
	now := time.Now()
	if p.rateStart.IsZero() {
		p.rateStart = now
	}
	p.rateBytes += uint64(n)
	if d := now.Sub(p.rateStart); d >= time.Second {
		p.kbps.Store(uint64(float64(p.rateBytes*8) / d.Seconds() / 1000))
		p.rateStart, p.rateBytes = now, 0
	}
}

func (p *WHIPPublisher) drop() {
	p.dropped.Add(1)
	p.keyframeNeeded()
}
