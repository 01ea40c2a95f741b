package testpeer

import (
	"fmt"
	"sync"
	"testing"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"
)

// RTPUnit is one access unit as a publisher sent it, with its RTP
// timestamp untouched: NAL units of a picture, or one AAC frame.
type RTPUnit struct {
	Timestamp uint32
	NALUs     [][]byte // video
	AU        []byte   // audio
}

// RTSPRecorder takes one RTSP publisher and keeps what it sends per track
// with the RTP timestamps as sent, for checks of the timestamps themselves
// (a player rebases them).
type RTSPRecorder struct {
	URL string
	srv *gortsplib.Server

	mu    sync.Mutex
	video []RTPUnit
	audio []RTPUnit
	aac   *mpeg4audio.AudioSpecificConfig
}

// StartRTSPRecorder listens on a free loopback port; it is closed when the
// test ends.
func StartRTSPRecorder(t testing.TB, path string) *RTSPRecorder {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	r := &RTSPRecorder{URL: "rtsp://" + addr + "/" + path}
	r.srv = &gortsplib.Server{Handler: r, RTSPAddress: addr}
	if err := r.srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.srv.Close)
	return r
}

// OnAnnounce accepts any publisher.
func (r *RTSPRecorder) OnAnnounce(*gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSetup accepts the publisher's tracks.
func (r *RTSPRecorder) OnSetup(*gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil, nil
}

// OnRecord keeps the H.264 and AAC access units.
func (r *RTSPRecorder) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	desc := ctx.Session.AnnouncedDescription()
	var h264 *format.H264
	if m := desc.FindFormat(&h264); m != nil {
		dec, err := h264.CreateDecoder()
		if err != nil {
			return &base.Response{StatusCode: base.StatusBadRequest}, err
		}
		ctx.Session.OnPacketRTP(m, h264, func(pkt *rtp.Packet) {
			if nalus, err := dec.Decode(pkt); err == nil {
				r.mu.Lock()
				r.video = append(r.video, RTPUnit{Timestamp: pkt.Timestamp, NALUs: nalus})
				r.mu.Unlock()
			}
		})
	}
	var aac *format.MPEG4Audio
	if m := desc.FindFormat(&aac); m != nil {
		dec, err := aac.CreateDecoder()
		if err != nil {
			return &base.Response{StatusCode: base.StatusBadRequest}, err
		}
		r.mu.Lock()
		r.aac = aac.Config
		r.mu.Unlock()
		ctx.Session.OnPacketRTP(m, aac, func(pkt *rtp.Packet) {
			aus, err := dec.Decode(pkt)
			if err != nil {
				return
			}
			r.mu.Lock()
			for i, au := range aus {
				r.audio = append(r.audio, RTPUnit{Timestamp: pkt.Timestamp + uint32(i*mpeg4audio.SamplesPerAccessUnit), AU: au})
			}
			r.mu.Unlock()
		})
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// Video is the pictures received so far.
func (r *RTSPRecorder) Video() []RTPUnit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RTPUnit(nil), r.video...)
}

// Audio is the AAC frames received so far, and the track's config.
func (r *RTSPRecorder) Audio() ([]RTPUnit, *mpeg4audio.AudioSpecificConfig) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RTPUnit(nil), r.audio...), r.aac
}

var _ gortsplib.ServerHandlerOnRecord = (*RTSPRecorder)(nil)
