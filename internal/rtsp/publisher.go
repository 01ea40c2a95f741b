package rtsp

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"github.com/onair-studio/onair/internal/stream"
)

// AudioRate is the clock rate of the program's audio track: 48 kHz, one
// tick a sample, so one AAC access unit is 1024 ticks.
const AudioRate = 48000

// Payload types of the return path's tracks.
const (
	videoPayloadType = 96
	audioPayloadType = 97
)

// Publisher is the encoder's side of the return path: one RTSP session per
// path with the H.264 track and, on the program, the AAC track. Both
// tracks' RTP timestamps count the encoder's capture clock from 0 (video at
// 90 kHz, audio at 48 kHz), so a picture and the sound captured with it
// carry the same time. Its methods may be called from several goroutines.
type Publisher struct {
	client *gortsplib.Client
	start  time.Time

	mu    sync.Mutex // one packet sequence at a time on the connection
	video *description.Media
	venc  *rtph264.Encoder
	audio *description.Media // nil: video only
	aenc  *rtpmpeg4audio.Encoder
}

// PublishOptions describe what a publisher sends.
type PublishOptions struct {
	SPS, PPS []byte
	// AAC, when set, adds an AAC track with this AudioSpecificConfig.
	AAC *mpeg4audio.AudioSpecificConfig
	// Start is the wall-clock instant of PTS 0. RTCP sender reports map
	// each track's timestamps to Start+PTS, the capture time, so players
	// that sync by them line audio and video up; zero means time.Now().
	Start time.Time
}

// Publish connects to url (with credentials in it) and starts recording one
// H.264 track with the given parameter sets.
func Publish(url string, sps, pps []byte) (*Publisher, error) {
	return PublishWith(url, PublishOptions{SPS: sps, PPS: pps})
}

// PublishWith connects to url (with credentials in it) and starts recording
// the tracks o describes.
func PublishWith(url string, o PublishOptions) (*Publisher, error) {
	h264 := &format.H264{PayloadTyp: videoPayloadType, PacketizationMode: 1, SPS: o.SPS, PPS: o.PPS}
	p := &Publisher{start: o.Start, video: &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{h264}}}
	if p.start.IsZero() {
		p.start = time.Now()
	}
	medias := []*description.Media{p.video}
	var aac *format.MPEG4Audio
	if o.AAC != nil {
		// RFC 3640 AAC-hbr with the usual AU-header sizes.
		aac = &format.MPEG4Audio{PayloadTyp: audioPayloadType, Config: o.AAC, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
		p.audio = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{aac}}
		medias = append(medias, p.audio)
	}
	var err error
	if p.venc, err = h264.CreateEncoder(); err != nil {
		return nil, err
	}
	if aac != nil {
		if p.aenc, err = aac.CreateEncoder(); err != nil {
			return nil, err
		}
	}
	tcp := gortsplib.TransportTCP
	p.client = &gortsplib.Client{Transport: &tcp, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		DialContext: dialUnits}
	if err := p.client.StartRecording(url, &description.Session{Medias: medias}); err != nil {
		return nil, fmt.Errorf("publishing to the master: %w", err)
	}
	return p, nil
}

// dialUnits connects to the master with a connection that sends each
// access unit in one write.
func dialUnits(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &unitConn{Conn: c}, nil
}

// HasAudio reports whether the session carries an audio track.
func (p *Publisher) HasAudio() bool { return p.audio != nil }

// WriteAccessUnit sends one access unit; pts is on the encoder's clock.
func (p *Publisher) WriteAccessUnit(au AccessUnit) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	pkts, err := p.venc.Encode(au.NALUs)
	if err != nil {
		return err
	}
	return p.write(p.video, pkts, uint32(stream.Ticks(au.PTS, 90000)), au.PTS)
}

// WriteAudio sends consecutive AAC access units (raw, 1024 samples each),
// the first of which plays at pts on the encoder's clock (not before 0), in
// as few RTP packets as they fit: one write for a mixer's whole batch. A
// publisher without an audio track ignores them.
func (p *Publisher) WriteAudio(aus [][]byte, pts time.Duration) error {
	if p.audio == nil || len(aus) == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pkts, err := p.aenc.Encode(aus)
	if err != nil {
		return err
	}
	return p.write(p.audio, pkts, uint32(stream.Ticks(pts, AudioRate)), pts)
}

// write sends pkts, whose timestamps count from ts (pts on the encoder's
// clock), stamping each with its capture time for RTCP.
func (p *Publisher) write(m *description.Media, pkts []*rtp.Packet, ts uint32, pts time.Duration) error {
	rate := int64(AudioRate)
	if m == p.video {
		rate = 90000
	}
	for _, pkt := range pkts {
		at := pts + stream.Duration(int64(pkt.Timestamp), rate)
		pkt.Timestamp += ts
		if err := p.client.WritePacketRTPWithNTP(m, pkt, p.start.Add(at)); err != nil {
			return fmt.Errorf("publishing to the master: %w", err)
		}
	}
	return nil
}

// Close ends the publication.
func (p *Publisher) Close() { p.client.Close() }
