package audio

// #cgo pkg-config: libavcodec libavutil
// #include <stdlib.h>
// #include <libavcodec/avcodec.h>
// #include <libavutil/channel_layout.h>
// #include <libavutil/dict.h>
// #include <libavutil/frame.h>
//
// enum { AAC_EAGAIN = AVERROR(EAGAIN), AAC_EOF = AVERROR_EOF };
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/onair-studio/onair/internal/audiolimits"
)

// AccessUnit is one raw AAC frame (no ADTS header): 1024 samples.
type AccessUnit struct {
	// PTS is the capture-clock time of the first sample it decodes to.
	// The encoder's first frame is priming (PTS 1024 samples before the
	// first block's), which a decoder drops.
	PTS time.Duration
	// Data is read-only: the frames of a stretch of silence share one.
	Data []byte
}

// AACEncoder encodes mixed blocks to AAC-LC, 48 kHz stereo, with
// libavcodec's native "aac" encoder. One goroutine uses it at a time.
type AACEncoder struct {
	mu     sync.Mutex
	ctx    *C.AVCodecContext
	frame  *C.AVFrame
	pkt    *C.AVPacket
	config mpeg4audio.AudioSpecificConfig
	kbps   int
	last   int64
	sent   bool

	// Digital silence (a program with no sound source, or every source
	// muted or quiet) is answered without the codec once it has encoded
	// silentAfter silent blocks in a row: from then on its frame is the
	// same pure-silence frame each time, which is kept in silent.
	silentAfter int
	zeros       int    // silent blocks in a row the codec has encoded
	silent      []byte // the codec's pure-silence frame; nil: none yet
	lag         int64  // samples from a block's PTS to its frame's PTS
	shift       int64  // samples of silence answered without the codec
}

// silentAfter is how many silent blocks the codec must have encoded before
// its frames are pure silence: each frame's transform spans two blocks, and
// the codec answers a block late.
const silentAfter = 4

// NewAACEncoder opens the encoder at kbps (audiolimits.CheckBitrateKbps;
// 0 means audiolimits.DefaultBitrateKbps).
func NewAACEncoder(kbps int) (_ *AACEncoder, err error) {
	if kbps == 0 {
		kbps = audiolimits.DefaultBitrateKbps
	}
	if err := audiolimits.CheckBitrateKbps(kbps); err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	name := C.CString("aac")
	defer C.free(unsafe.Pointer(name))
	codec := C.avcodec_find_encoder_by_name(name)
	if codec == nil {
		return nil, errors.New("audio: this libavcodec has no aac encoder")
	}
	e := &AACEncoder{kbps: kbps, silentAfter: silentAfter}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.ctx = C.avcodec_alloc_context3(codec); e.ctx == nil {
		return nil, errors.New("audio: out of memory")
	}
	c := e.ctx
	c.sample_fmt = C.AV_SAMPLE_FMT_FLTP
	c.sample_rate = SampleRate
	C.av_channel_layout_default(&c.ch_layout, Channels)
	c.bit_rate = C.int64_t(kbps * 1000)
	c.time_base = C.AVRational{num: 1, den: SampleRate}
	c.profile = C.FF_PROFILE_AAC_LOW
	// The AudioSpecificConfig goes into extradata, not into every frame.
	c.flags |= C.AV_CODEC_FLAG_GLOBAL_HEADER
	// The "fast" coder: the whole audio path costs 1.1% of a core with it
	// and 8.1% with the default "twoloop", time the video encoder needs
	// more; at 160 kbit/s the tone tests keep their level either way.
	var opts *C.AVDictionary
	defer C.av_dict_free(&opts)
	k, v := C.CString("aac_coder"), C.CString("fast")
	C.av_dict_set(&opts, k, v, 0)
	C.free(unsafe.Pointer(k))
	C.free(unsafe.Pointer(v))
	if rc := C.avcodec_open2(c, codec, &opts); rc < 0 {
		return nil, fmt.Errorf("audio: opening the AAC encoder: %w", averr("avcodec_open2", rc))
	}
	if c.frame_size != FrameSamples {
		return nil, fmt.Errorf("audio: the AAC encoder wants %d samples a frame, not %d", c.frame_size, FrameSamples)
	}
	if err := e.config.Unmarshal(C.GoBytes(unsafe.Pointer(c.extradata), c.extradata_size)); err != nil {
		return nil, fmt.Errorf("audio: the AAC encoder's config: %w", err)
	}
	if e.frame = C.av_frame_alloc(); e.frame == nil {
		return nil, errors.New("audio: out of memory")
	}
	if e.pkt = C.av_packet_alloc(); e.pkt == nil {
		return nil, errors.New("audio: out of memory")
	}
	return e, nil
}

// Config is the AudioSpecificConfig a muxer or an RTMP sequence header
// needs.
func (e *AACEncoder) Config() mpeg4audio.AudioSpecificConfig { return e.config }

// BitrateKbps is the bitrate the encoder runs at.
func (e *AACEncoder) BitrateKbps() int { return e.kbps }

// Encode encodes one block (FrameSamples samples; PTS after the previous
// block's) and returns the access units ready, usually one.
func (e *AACEncoder) Encode(b Block) ([]AccessUnit, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return nil, errors.New("audio: AAC encoder is closed")
	}
	if len(b.Samples) != Channels*FrameSamples {
		return nil, fmt.Errorf("audio: a block has %d samples, want %d", len(b.Samples)/Channels, FrameSamples)
	}
	pts := SampleAt(b.PTS)
	if e.sent && pts <= e.last {
		return nil, fmt.Errorf("audio: block at %v does not follow the previous one at %v", b.PTS, SampleTime(e.last))
	}
	quiet := silent(b.Samples)
	if quiet && e.silent != nil {
		// The codec's state is silence already and stays so: the frames it
		// would make are the kept one. Its clock falls behind by a block.
		e.last, e.shift = pts, e.shift+FrameSamples
		return []AccessUnit{{PTS: SampleTime(pts - e.lag), Data: e.silent}}, nil
	}
	f := e.frame
	C.av_frame_unref(f)
	f.nb_samples = FrameSamples
	f.format = C.AV_SAMPLE_FMT_FLTP
	f.sample_rate = SampleRate
	if rc := C.av_channel_layout_copy(&f.ch_layout, &e.ctx.ch_layout); rc < 0 {
		return nil, averr("av_channel_layout_copy", rc)
	}
	if rc := C.av_frame_get_buffer(f, 0); rc < 0 {
		return nil, averr("av_frame_get_buffer", rc)
	}
	for ch := 0; ch < Channels; ch++ {
		plane := unsafe.Slice((*float32)(unsafe.Pointer(f.data[ch])), FrameSamples)
		for i := range plane {
			plane[i] = b.Samples[Channels*i+ch]
		}
	}
	// The codec's clock counts only the blocks it was given.
	f.pts = C.int64_t(pts - e.shift)
	if rc := C.avcodec_send_frame(e.ctx, f); rc < 0 {
		return nil, averr("avcodec_send_frame", rc)
	}
	e.last, e.sent = pts, true
	out, err := e.drain()
	if !quiet {
		e.zeros, e.silent = 0, nil
		return out, err
	}
	if e.zeros++; e.zeros >= e.silentAfter && err == nil && len(out) == 1 {
		e.silent, e.lag = out[0].Data, pts-SampleAt(out[0].PTS)
	}
	return out, err
}

// silent reports whether samples are all zero: digital silence.
func silent(samples []float32) bool {
	for _, v := range samples {
		if v != 0 {
			return false
		}
	}
	return true
}

// Flush returns the access units still inside the encoder; Encode fails
// afterwards.
func (e *AACEncoder) Flush() ([]AccessUnit, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return nil, errors.New("audio: AAC encoder is closed")
	}
	if rc := C.avcodec_send_frame(e.ctx, nil); rc < 0 && rc != C.AAC_EOF {
		return nil, averr("avcodec_send_frame", rc)
	}
	return e.drain()
}

func (e *AACEncoder) drain() ([]AccessUnit, error) {
	var out []AccessUnit
	for {
		rc := C.avcodec_receive_packet(e.ctx, e.pkt)
		if rc == C.AAC_EAGAIN || rc == C.AAC_EOF {
			return out, nil
		}
		if rc < 0 {
			return out, averr("avcodec_receive_packet", rc)
		}
		out = append(out, AccessUnit{
			PTS:  SampleTime(int64(e.pkt.pts) + e.shift),
			Data: C.GoBytes(unsafe.Pointer(e.pkt.data), e.pkt.size),
		})
		C.av_packet_unref(e.pkt)
	}
}

// Close releases the encoder; it is safe to call more than once.
func (e *AACEncoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	C.av_packet_free(&e.pkt)
	C.av_frame_free(&e.frame)
	C.avcodec_free_context(&e.ctx)
	return nil
}
