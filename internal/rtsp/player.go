package rtsp

import (
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

// Player reads a program from an RTSP server (the master's monitor), for the
// preview and for tests that check what a viewer receives.
type Player struct {
	client *gortsplib.Client
}

// Play connects to url and calls fn for every access unit, on one goroutine.
// rtpTime is the packet's RTP timestamp (90 kHz), which OnAir's encoder sets
// to its own presentation time.
func Play(url string, fn func(au AccessUnit, rtpTime uint32)) (*Player, error) {
	u, err := base.ParseURL(url)
	if err != nil {
		return nil, err
	}
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp, ReadTimeout: 5 * time.Second}
	if err := c.Start2(); err != nil {
		return nil, err
	}
	fail := func(err error) (*Player, error) {
		c.Close()
		return nil, fmt.Errorf("playing %s: %w", u.Host, err)
	}
	desc, _, err := c.Describe(u)
	if err != nil {
		return fail(err)
	}
	var h264 *format.H264
	media := desc.FindFormat(&h264)
	if media == nil {
		return fail(errors.New("no H.264 track"))
	}
	dec, err := h264.CreateDecoder()
	if err != nil {
		return fail(err)
	}
	if _, err := c.Setup(desc.BaseURL, media, 0, 0); err != nil {
		return fail(err)
	}
	c.OnPacketRTP(media, h264, func(pkt *rtp.Packet) {
		pts, ok := c.PacketPTS2(media, pkt)
		if !ok {
			return
		}
		nalus, err := dec.Decode(pkt)
		if err != nil {
			return
		}
		fn(AccessUnit{NALUs: nalus, PTS: time.Duration(pts) * time.Second / 90000}, pkt.Timestamp)
	})
	if _, err := c.Play(nil); err != nil {
		return fail(err)
	}
	return &Player{client: c}, nil
}

// Close stops playing.
func (p *Player) Close() { p.client.Close() }
