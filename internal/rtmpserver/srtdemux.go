package rtmpserver

import (
	"bytes"
	"errors"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"

	"github.com/onair-studio/onair/internal/output/rtmpwire"
)

// tag is one RTMP message made from MPEG-TS: what an RTMP publisher would
// have sent.
type tag struct {
	typeID  byte
	ts      uint32 // ms since the first keyframe
	payload []byte
}

// tsToFLV turns the H.264 and AAC of an MPEG-TS program into the RTMP
// messages players receive: a sequence header whenever the parameter sets
// change, then frames from the first keyframe on, timestamps in ms counted
// from that keyframe.
type tsToFLV struct {
	emit func(tag)

	clock    mpegts.TimeDecoder // 33-bit 90 kHz stamps, unwrapped
	base     int64              // 90 kHz stamp of the first keyframe
	started  bool
	sps, pps []byte

	asc        []byte
	sampleRate int
	audioSent  bool
}

// errNoVideo refuses a program the server cannot relay.
var errNoVideo = errors.New("the MPEG-TS program has no H.264 video")

// attach hooks the converter to r's first H.264 track and first AAC track.
func (c *tsToFLV) attach(r *mpegts.Reader) error {
	c.clock.Initialize()
	var video, audio bool
	for _, t := range r.Tracks() {
		switch codec := t.Codec.(type) {
		case *mpegts.CodecH264:
			if !video {
				video = true
				r.OnDataH264(t, func(pts, dts int64, au [][]byte) error {
					c.video(c.clock.Decode(pts), c.clock.Decode(dts), au)
					return nil
				})
			}
		case *mpegts.CodecMPEG4Audio:
			asc, err := codec.Config.Marshal()
			if audio || err != nil || codec.Config.SampleRate <= 0 {
				continue
			}
			audio = true
			c.asc, c.sampleRate = asc, codec.Config.SampleRate
			r.OnDataMPEG4Audio(t, func(pts int64, aus [][]byte) error {
				c.audio(c.clock.Decode(pts), aus)
				return nil
			})
		}
	}
	if !video {
		return errNoVideo
	}
	return nil
}

// video converts one access unit (NAL units without start codes).
func (c *tsToFLV) video(pts, dts int64, au [][]byte) {
	var sps, pps []byte
	key := false
	nalus := make([][]byte, 0, len(au))
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		case h264.NALUTypeIDR:
			key = true
		}
		nalus = append(nalus, n)
	}
	if sps != nil && pps != nil && (!bytes.Equal(sps, c.sps) || !bytes.Equal(pps, c.pps)) {
		seq, err := rtmpwire.AVCSequenceHeader(sps, pps)
		if err == nil {
			c.sps, c.pps = bytes.Clone(sps), bytes.Clone(pps)
			if c.started {
				c.emit(tag{typeVideo, c.ms(dts), seq})
			} else if key {
				c.started, c.base = true, dts
				c.emit(tag{typeVideo, 0, seq})
			}
		}
	}
	if !c.started || dts < c.base {
		return // a player starts at a keyframe with its parameter sets
	}
	cts := time.Duration(max(pts-dts, 0)) * time.Second / 90000
	c.emit(tag{typeVideo, c.ms(dts), rtmpwire.AVCFrame(nalus, key, cts)})
}

// audio converts the AAC frames of one PES packet; the ones after the first
// follow it by 1024 samples each.
func (c *tsToFLV) audio(pts int64, aus [][]byte) {
	if !c.started {
		return
	}
	if !c.audioSent {
		c.audioSent = true
		c.emit(tag{typeAudio, c.ms(pts), rtmpwire.AACSequenceHeader(c.asc)})
	}
	for i, au := range aus {
		t := pts + int64(i)*1024*90000/int64(c.sampleRate)
		if t < c.base || len(au) == 0 {
			continue
		}
		c.emit(tag{typeAudio, c.ms(t), rtmpwire.AACFrame(au)})
	}
}

// ms is a 90 kHz stamp as RTMP's ms since the first keyframe.
func (c *tsToFLV) ms(t int64) uint32 { return uint32(max(t-c.base, 0) / 90) }
