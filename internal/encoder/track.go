package encoder

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/onair-studio/onair/internal/codec"
	"github.com/onair-studio/onair/internal/rtsp"
	"github.com/onair-studio/onair/internal/stages"
)

// track is one encode of the composed picture (the program, or a rendition)
// and its publication on the return path. encode and publish run on the
// pipeline's encoding goroutine; counters and the error are read from
// others.
type track struct {
	name  string
	log   *slog.Logger
	enc   *codec.Encoder
	frame *codec.Frame // a picture in the encoder's pixel format and size, which libx264 takes without a copy
	url   string
	// scaler fills frame from the program's picture (renditions only).
	// One per track: a shared one would re-allocate its scratch frame
	// every time renditions of different sizes alternate.
	scaler codec.Scaler

	// aac is the audio track's config on the program; nil: video only.
	aac *mpeg4audio.AudioSpecificConfig
	// start is the capture clock's start, PTS 0.
	start time.Time

	// pubMu guards pub: the encoding goroutine connects and sends video,
	// the mixing goroutine sends audio.
	pubMu       sync.Mutex
	pub         *rtsp.Publisher
	nextPublish time.Time
	encoded     atomic.Uint64
	encodeNanos atomic.Int64

	errMu sync.Mutex
	err   string
}

func newTrack(name, url string, enc *codec.Encoder, log *slog.Logger) (*track, error) {
	return newTrackWithAudio(name, url, enc, nil, time.Time{}, log)
}

// newTrackWithAudio is a track whose session also carries the AAC track
// aac (nil: none), timed from start.
func newTrackWithAudio(name, url string, enc *codec.Encoder, aac *mpeg4audio.AudioSpecificConfig, start time.Time, log *slog.Logger) (*track, error) {
	s := enc.Settings()
	frame, err := codec.NewDirectFrame(enc.PixelFormat(), s.Width, s.Height)
	if err != nil {
		return nil, err
	}
	return &track{name: name, log: log.With("track", name), enc: enc, frame: frame, url: url, aac: aac, start: start}, nil
}

// encode encodes frame (as an IDR when keyframe) and publishes what comes
// out; it returns the time each took.
func (t *track) encode(frame *codec.Frame, pts time.Duration, captured time.Time, keyframe bool) (encode, send time.Duration) {
	start := stages.Now()
	pkts, err := t.enc.Encode(frame, pts, captured, keyframe)
	encode = stages.Since(start)
	t.encodeNanos.Add(int64(encode))
	if err != nil {
		t.setErr(err)
		return encode, 0
	}
	start = stages.Now()
	for _, pkt := range pkts {
		t.encoded.Add(1)
		t.publish(pkt)
	}
	return encode, stages.Since(start)
}

// publish sends a packet to the master, connecting first if needed. The
// first packet is a keyframe, so the parameter sets are known by then.
func (t *track) publish(pkt codec.Packet) {
	t.pubMu.Lock()
	defer t.pubMu.Unlock()
	if t.pub == nil {
		if time.Now().Before(t.nextPublish) || !pkt.Keyframe {
			return
		}
		sps, pps, _ := t.enc.ParameterSets()
		pub, err := rtsp.PublishWith(t.url, rtsp.PublishOptions{SPS: sps, PPS: pps, AAC: t.aac, Start: t.start})
		if err != nil {
			// The master may be restarting its server; try again soon,
			// from a keyframe.
			t.nextPublish = time.Now().Add(500 * time.Millisecond)
			t.setErr(err)
			t.enc.ForceKeyframe()
			return
		}
		t.pub = pub
		t.setErr(nil)
	}
	if err := t.pub.WriteAccessUnit(rtsp.AccessUnit{NALUs: pkt.NALUs, PTS: pkt.PTS}); err != nil {
		t.setErr(err)
		t.pub.Close()
		t.pub = nil
		t.enc.ForceKeyframe()
	}
}

// publishAudio sends consecutive AAC access units, the first playing at
// pts, while the session is up; before the first keyframe connects it,
// sound has nowhere to go and is dropped.
func (t *track) publishAudio(aus [][]byte, pts time.Duration) {
	t.pubMu.Lock()
	defer t.pubMu.Unlock()
	if t.pub == nil {
		return
	}
	if err := t.pub.WriteAudio(aus, pts); err != nil {
		// The video side sees the same failure and reconnects.
		t.setErr(err)
	}
}

func (t *track) setErr(err error) {
	t.errMu.Lock()
	defer t.errMu.Unlock()
	if err == nil {
		t.err = ""
		return
	}
	if t.err != err.Error() {
		t.log.Warn("track", "err", err)
	}
	t.err = err.Error()
}

func (t *track) lastErr() string {
	t.errMu.Lock()
	defer t.errMu.Unlock()
	return t.err
}

func (t *track) close() {
	t.pubMu.Lock()
	if t.pub != nil {
		t.pub.Close()
		t.pub = nil
	}
	t.pubMu.Unlock()
	t.frame.Free()
	t.enc.Close()
}
