package output

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/yutopp/go-amf0"
	"github.com/yutopp/go-rtmp/message"

	"github.com/onair-studio/onair/internal/output/rtmpwire"
)

// run is the publisher goroutine: it connects, then owns the RTMP session
// and sends what the queue hands it until Close or a failure.
func (p *Publisher) run() {
	defer close(p.done)
	p.log.Info("rtmp output connecting")
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout)
	s, err := openSession(ctx, p.dest, sessionOptions{rootCAs: p.cfg.RootCAs, writeTimeout: p.cfg.WriteTimeout})
	cancel()
	if err == nil {
		p.setState(StateLive, nil)
		close(p.live)
		p.log.Info("rtmp output live")
		if err = p.stream(s); err != nil {
			err = fmt.Errorf("%s: connection lost: %w", p.dest.masked, err)
		}
		s.close(err == nil)
	}
	if err != nil && p.ctx.Err() == nil {
		p.setState(StateFailed, err)
		p.log.Warn("rtmp output failed", "err", err)
		return
	}
	p.setState(StateClosed, nil)
	p.log.Info("rtmp output closed", "frames", p.sent.Load())
}

// stream sends queued access units until Close or a connection failure.
func (p *Publisher) stream(s *session) error {
	for {
		select {
		case <-p.ctx.Done():
			return nil
		case <-s.readDone:
			return s.readErr
		case <-s.cs.Done():
			return s.writeErr()
		case ts := <-s.pings:
			if err := s.pong(p.ctx, ts); err != nil {
				return err
			}
		case <-p.q.wake:
			if err := p.sendQueued(func(u *accessUnit) error { return p.send(s, u) }); err != nil {
				return err
			}
		}
	}
}

// send writes one access unit, preceded by a sequence header (and metadata)
// when its parameter sets are new to this RTMP session.
func (p *Publisher) send(s *session, u *accessUnit) error {
	if u.audio && !u.newSource {
		return p.sendAudio(s, u)
	}
	if u.newSource {
		// Until the new source sends parameter sets, assume the old ones.
		p.tl.NewSource()
		p.ready = false
		if u.audio {
			return nil // a source begins with its keyframe
		}
	}
	if u.sps != nil {
		p.sps, p.pps = u.sps, u.pps
	}
	header := false
	if u.key {
		if p.sps == nil {
			if !p.warnedParams {
				p.log.Warn("keyframe without SPS/PPS; waiting for one that has them")
				p.warnedParams = true
			}
			p.drop()
			return nil
		}
		header = !bytes.Equal(p.sps, p.sentSPS) || !bytes.Equal(p.pps, p.sentPPS)
		p.ready = true
	} else if !p.ready {
		p.drop()
		return nil
	}
	stamp := p.tl.Stamp(u.dts, u.wall)
	ts := uint32(stamp) // RTMP timestamps wrap after 49.7 days
	if header {
		seq, err := rtmpwire.AVCSequenceHeader(p.sps, p.pps)
		if err != nil {
			p.log.Warn("unusable SPS/PPS", "err", err)
			p.ready = false
			p.drop()
			return nil
		}
		// Metadata goes at timestamp 0, as OBS and FFmpeg send it: FFmpeg's
		// FLV reader takes a script tag at any other time for a subtitle stream.
		if err := s.write(p.ctx, csidData, 0, s.streamID, metadata(p.sps, p.srcAudio())); err != nil {
			return err
		}
		if err := s.write(p.ctx, csidVideo, ts, s.streamID, &message.VideoMessage{Payload: bytes.NewReader(seq)}); err != nil {
			return err
		}
		p.sentSPS, p.sentPPS = p.sps, p.pps
		p.log.Info("rtmp output sequence header", "timestamp_ms", ts)
	}
	if err := s.write(p.ctx, csidVideo, ts, s.streamID, &message.VideoMessage{Payload: bytes.NewReader(u.tag)}); err != nil {
		return err
	}
	p.sent.Add(1)
	p.bytes.Add(uint64(len(u.tag)))
	p.timeline.Store(stamp * int64(time.Millisecond))
	return nil
}

// sendAudio writes one AAC frame on the pictures' timeline, preceded by the
// AAC sequence header when its config is new to this RTMP session. Sound
// waits for the source's first keyframe, like the pictures.
func (p *Publisher) sendAudio(s *session, u *accessUnit) error {
	stamp, ok := p.tl.Follow(u.dts)
	if !p.ready || !ok || stamp <= p.lastAudio && p.sentASC != nil {
		return nil // before the picture, or overlapping what went out
	}
	ts := uint32(stamp)
	if !bytes.Equal(u.asc, p.sentASC) {
		seq := rtmpwire.AACSequenceHeader(u.asc)
		if err := s.write(p.ctx, csidAudio, ts, s.streamID, &message.AudioMessage{Payload: bytes.NewReader(seq)}); err != nil {
			return err
		}
		p.sentASC = u.asc
		p.log.Info("rtmp output audio sequence header", "timestamp_ms", ts)
	}
	p.lastAudio = stamp
	if err := s.write(p.ctx, csidAudio, ts, s.streamID, &message.AudioMessage{Payload: bytes.NewReader(u.tag)}); err != nil {
		return err
	}
	p.sounds.Add(1)
	return nil
}

// srcAudio is the current source's audio config, nil without sound.
func (p *Publisher) srcAudio() []byte { return p.src.audioConfig() }

func (p *Publisher) drop() {
	p.dropped.Add(1)
	p.keyframeNeeded()
}

// metadata is the @setDataFrame onMetaData message ingests show and some
// players use to size their window before the first frame.
func metadata(sps, asc []byte) message.Message {
	meta := amf0.ECMAArray{"videocodecid": 7, "encoder": "OnAir"}
	var a mpeg4audio.AudioSpecificConfig
	if asc != nil && a.Unmarshal(asc) == nil {
		meta["audiocodecid"], meta["audiosamplerate"] = 10, a.SampleRate
		meta["audiosamplesize"], meta["stereo"] = 16, a.ChannelCount >= 2
	}
	var s h264.SPS
	if s.Unmarshal(sps) == nil {
		meta["width"], meta["height"] = s.Width(), s.Height()
		if fps := s.FPS(); fps > 0 {
			meta["framerate"] = fps
		}
	}
	var body bytes.Buffer
	enc := message.NewAMFEncoder(&body, message.EncodingTypeAMF0)
	_ = enc.Encode("onMetaData")
	_ = enc.Encode(meta)
	return &message.DataMessage{Name: "@setDataFrame", Encoding: message.EncodingTypeAMF0, Body: &body}
}
