package output

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	srt "github.com/datarhei/gosrt"

	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/internal/timeline"
)

// SRTPublisher publishes H.264 and its AAC sound as MPEG-TS over SRT (caller
// mode) to one destination. Like Publisher, one goroutine owns the
// connection behind a bounded queue that never blocks the caller, and it
// connects once: after a failure, Close it and make a new one.
type SRTPublisher struct {
	rawPublisher
	dest srtTarget
	conn srt.Conn // set once live, for Stats; guarded by mu

	// owned by the publisher goroutine
	tl        *timeline.Timeline
	ts        *tsWriter
	sps, pps  []byte
	ready     bool
	lastAudio int64
}

// tsPacketsPerSRT is how many 188-byte TS packets go in one SRT packet:
// 7 × 188 = 1316 bytes, the payload every SRT implementation expects.
const tsPacketsPerSRT = 7

// tsWriter is one MPEG-TS mux over the connection, for one set of tracks.
type tsWriter struct {
	mux          *mpegts.Writer
	buf          *bufio.Writer // whole SRT payloads
	video, audio *mpegts.Track
	asc          []byte
}

// NewSRTPublisher starts publishing to cfg.URL (srt://) in the background.
// It returns an error at once only for a URL that cannot work.
func NewSRTPublisher(cfg Config) (*SRTPublisher, error) {
	t, err := parseSRT(cfg.URL)
	if err != nil {
		return nil, err
	}
	p := &SRTPublisher{dest: t, tl: timeline.New(cfg.TimelineStart, 90000)} // MPEG-TS counts 90 kHz
	p.init(cfg, 5*time.Second, t.masked)
	go p.run()
	return p, nil
}

// Stats returns counters, state and SRT's own figures.
func (p *SRTPublisher) Stats() Stats {
	s := p.rawPublisher.Stats()
	p.mu.Lock()
	conn := p.conn
	p.mu.Unlock()
	if conn != nil {
		var ss srt.Statistics
		conn.Stats(&ss)
		s.Link = Link{
			RTT:           time.Duration(ss.Instantaneous.MsRTT * float64(time.Millisecond)),
			Lost:          ss.Accumulated.PktSendLoss,
			Retransmitted: ss.Accumulated.PktRetrans,
			BitrateKbps:   ss.Instantaneous.MbpsSentRate * 1000,
		}
	}
	return s
}

func (p *SRTPublisher) run() {
	defer close(p.done)
	p.log.Info("srt output connecting")
	conn, err := p.dial()
	if err == nil {
		p.mu.Lock()
		p.state, p.conn = StateLive, conn
		p.mu.Unlock()
		close(p.live)
		p.log.Info("srt output live")
		if err = p.stream(conn); err != nil {
			err = fmt.Errorf("%s: connection lost: %w", p.dest.masked, err)
		}
		p.mu.Lock()
		p.conn = nil
		p.mu.Unlock()
		conn.Close()
	}
	if err != nil && p.ctx.Err() == nil {
		p.setState(StateFailed, err)
		p.log.Warn("srt output failed", "err", err)
		return
	}
	p.setState(StateClosed, nil)
	p.log.Info("srt output closed", "frames", p.sent.Load())
}

// dial calls the server. Its errors say what failed, in words a streamer
// can act on, without the streamid or the passphrase.
func (p *SRTPublisher) dial() (srt.Conn, error) {
	c := srt.DefaultConfig()
	c.StreamId, c.Passphrase = p.dest.streamID, p.dest.passphrase
	c.Latency = p.dest.latency
	c.ConnectionTimeout = p.cfg.Timeout
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout)
	defer cancel()
	conn, err := srt.DialWithContext(ctx, "srt", p.dest.addr, c)
	if err == nil {
		return conn, nil
	}
	msg := err.Error()
	switch {
	case p.ctx.Err() != nil:
		msg = "canceled"
	case strings.Contains(msg, fmt.Sprintf("REJECT (%s)", rejectCode(srt.REJ_BADSECRET))):
		msg = "the server refused the passphrase (wrong passphrase)"
	case strings.Contains(msg, fmt.Sprintf("REJECT (%s)", rejectCode(srt.REJ_UNSECURE))):
		msg = "the server and this destination disagree on encryption (a passphrase missing on one side)"
	case strings.Contains(msg, "REJECT"):
		msg = "the server refused the connection (streamid rejected?): " + msg
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "timeout"):
		msg = "no answer in time (is an SRT listener running there?)"
	}
	return nil, fmt.Errorf("%s: connecting: %s", p.dest.masked, MaskText(MaskText(msg, p.dest.streamID), p.dest.passphrase))
}

// rejectCode is how gosrt writes a rejection reason in its errors.
func rejectCode(r srt.RejectionReason) string { return strconv.FormatUint(uint64(r), 32) }

// stream sends queued units until Close or a connection failure.
func (p *SRTPublisher) stream(conn srt.Conn) error {
	closed := make(chan error, 1)
	go func() {
		// A caller never receives data: Read returns when the connection ends.
		buf := make([]byte, 1500)
		for {
			if _, err := conn.Read(buf); err != nil {
				closed <- err
				return
			}
		}
	}()
	for {
		select {
		case <-p.ctx.Done():
			return nil
		case err := <-closed:
			return fmt.Errorf("the server closed the connection (%v)", err)
		case <-p.q.wake:
			if err := p.sendQueued(func(u *accessUnit) error { return p.send(conn, u) }); err != nil {
				return err
			}
		}
	}
}

// send writes one unit to the TS mux, starting a new mux (tables first)
// at a keyframe whose sound differs from the current mux's.
func (p *SRTPublisher) send(conn srt.Conn, u *accessUnit) error {
	if u.newSource {
		p.tl.NewSource()
		p.ready = false
		if u.audio {
			return nil // a source begins with its keyframe
		}
	}
	if u.audio {
		stamp, ok := p.tl.Follow(u.dts)
		if !p.ready || !ok || stamp <= p.lastAudio || p.ts.audio == nil || !bytes.Equal(u.asc, p.ts.asc) {
			return nil
		}
		p.lastAudio = stamp
		if err := p.ts.mux.WriteMPEG4Audio(p.ts.audio, stamp, [][]byte{u.aac}); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		p.sounds.Add(1)
		return p.flush()
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
		if asc := p.src.audioConfig(); p.ts == nil || !bytes.Equal(asc, p.ts.asc) {
			if err := p.newMux(conn, asc); err != nil {
				return err
			}
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
	if err := p.ts.mux.WriteH264(p.ts.video, stamp, stamp, au); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	p.sent.Add(1)
	for _, n := range u.nalus {
		p.bytes.Add(uint64(len(n)))
	}
	p.timeline.Store(int64(stream.Duration(stamp, 90000)))
	return p.flush()
}

// newMux starts a TS mux with the picture and, if the source has sound, AAC.
func (p *SRTPublisher) newMux(conn srt.Conn, asc []byte) error {
	w := &tsWriter{buf: bufio.NewWriterSize(conn, tsPacketsPerSRT*188), asc: asc}
	w.video = &mpegts.Track{Codec: &mpegts.CodecH264{}}
	tracks := []*mpegts.Track{w.video}
	if asc != nil {
		var c mpeg4audio.AudioSpecificConfig
		if err := c.Unmarshal(asc); err == nil {
			w.audio = &mpegts.Track{Codec: &mpegts.CodecMPEG4Audio{Config: c}}
			tracks = append(tracks, w.audio)
		}
	}
	w.mux = &mpegts.Writer{W: w.buf, Tracks: tracks}
	if err := w.mux.Initialize(); err != nil {
		return fmt.Errorf("MPEG-TS: %w", err)
	}
	p.ts = w
	return nil
}

func (p *SRTPublisher) flush() error {
	if err := p.ts.buf.Flush(); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// cloneNALUs copies a picture's NAL units into one allocation.
func cloneNALUs(au [][]byte) [][]byte {
	n := 0
	for _, x := range au {
		n += len(x)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, 0, len(au))
	for _, x := range au {
		if len(x) == 0 {
			continue
		}
		buf = append(buf, x...)
		out = append(out, buf[len(buf)-len(x):len(buf):len(buf)])
	}
	return out
}
