package rtsp

import (
	"fmt"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
)

// Publisher is the encoder's side of the return path.
type Publisher struct {
	client *gortsplib.Client
	media  *description.Media
	enc    *rtph264.Encoder
}

// Publish connects to url (with credentials in it) and starts recording one
// H.264 track with the given parameter sets.
func Publish(url string, sps, pps []byte) (*Publisher, error) {
	forma := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: sps, PPS: pps}
	media := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{forma}}
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Transport: &tcp, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	if err := c.StartRecording(url, &description.Session{Medias: []*description.Media{media}}); err != nil {
		return nil, fmt.Errorf("publishing to the master: %w", err)
	}
	enc, err := forma.CreateEncoder()
	if err != nil {
		c.Close()
		return nil, err
	}
	return &Publisher{client: c, media: media, enc: enc}, nil
}

// WriteAccessUnit sends one access unit; pts is on the encoder's clock.
func (p *Publisher) WriteAccessUnit(au AccessUnit) error {
	pkts, err := p.enc.Encode(au.NALUs)
	if err != nil {
		return err
	}
	ts := uint32(ticks90k(au.PTS))
	for _, pkt := range pkts {
		pkt.Timestamp += ts
		if err := p.client.WritePacketRTP(p.media, pkt); err != nil {
			return fmt.Errorf("publishing to the master: %w", err)
		}
	}
	return nil
}

// Close ends the publication.
func (p *Publisher) Close() { p.client.Close() }

// ticks90k converts to the 90 kHz RTP clock without overflowing on long runs.
func ticks90k(d time.Duration) int64 {
	return int64(d/time.Second)*90000 + int64(d%time.Second)*90000/int64(time.Second)
}
