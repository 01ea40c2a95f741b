package codec

// #cgo pkg-config: libavcodec libavutil
// #include <stdlib.h>
// #include <libavcodec/avcodec.h>
// #include <libavutil/dict.h>
// #include <libavutil/hwcontext.h>
// #include <libavutil/opt.h>
// #include "avwrap.h"
import "C"

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/onair-studio/onair/internal/limits"
)

// Backend names accepted in Settings.Backend.
const (
	BackendAuto  = "auto"
	BackendX264  = "libx264"
	BackendNVENC = "h264_nvenc"
	BackendVAAPI = "h264_vaapi"
	BackendQSV   = "h264_qsv"
)

const (
	tickRate     = 90000 // codec time base 1/90000, the RTP clock for H.264
	hwFramesPool = 16
)

// autoOrder is the order "auto" tries: hardware first, x264 last.
var autoOrder = []string{BackendNVENC, BackendVAAPI, BackendQSV, BackendX264}

var x264Presets = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"}

// nvencPreset maps x264 preset names onto NVENC's p1 (fastest) .. p7.
var nvencPreset = map[string]string{
	"ultrafast": "p1", "superfast": "p1", "veryfast": "p2", "faster": "p3",
	"fast": "p4", "medium": "p4", "slow": "p5", "slower": "p6", "veryslow": "p7", "placebo": "p7",
}

// qsvPreset maps x264 preset names onto QSV's seven target usages.
var qsvPreset = map[string]string{
	"ultrafast": "veryfast", "superfast": "veryfast", "veryfast": "veryfast", "faster": "faster",
	"fast": "fast", "medium": "medium", "slow": "slow", "slower": "slower", "veryslow": "veryslow", "placebo": "veryslow",
}

var logOnce sync.Once

// avEncoder is one opened libavcodec encoder context with the frames it is fed from.
type avEncoder struct {
	ctx    *C.AVCodecContext
	sw     *C.AVFrame // software frame in the encoder's layout, refilled per frame
	hw     *C.AVFrame // VAAPI surface the software frame is uploaded to, else nil
	pkt    *C.AVPacket
	format Format
	// liveBitrate is true when the backend picks up new bit_rate/rc_max_rate
	// values between frames; other backends are reopened instead.
	liveBitrate bool
	// takesDirect: the encoder copies a frame in before
	// avcodec_send_frame returns (libx264), so it can be fed direct frames;
	// hardware encoders may keep a reference and read it later.
	takesDirect bool
	// lengthPrefixed: the encoder hands out NAL units each behind its
	// 4-byte length (libx264 told annexb=0), so splitting an access unit
	// reads a length per unit instead of searching every byte for a start
	// code. Other backends hand out Annex B.
	lengthPrefixed bool
	// copyOnly is set once the encoder kept a direct frame after it
	// returned (see sendDirect): from then on frames are copied.
	copyOnly bool
	// sender runs each send on a thread of its own (see avwrap.h) and
	// counts finished sends on sent; nil while the encoder is only tried.
	sender *C.onair_sender
	sent   *os.File
	count  [8]byte // the eventfd's counter, read after each send
}

// backendError is a refusal with a reason a person can act on.
type backendError struct {
	backend, reason string
}

func (e *backendError) Error() string { return e.backend + ": " + e.reason }

// withAVLog runs fn on one OS thread while keeping what libav* logs there,
// and returns that text alongside fn's error.
func withAVLog(fn func() error) (string, error) {
	logOnce.Do(func() { C.onair_log_init() })
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	C.onair_capture_begin()
	err := fn()
	return C.GoString(C.onair_capture_end()), err
}

// refusal turns a failed open or test encode into a backendError whose
// reason is what the library logged plus the error code's text.
func refusal(backend string, err error, logged string) error {
	var be *backendError
	if errors.As(err, &be) {
		return err
	}
	reason := err.Error()
	if logged != "" {
		reason = logged + " (" + reason + ")"
	}
	return &backendError{backend, reason}
}

func averr(op string, rc C.int) error {
	var buf [256]C.char
	C.av_strerror(rc, &buf[0], C.size_t(len(buf)))
	return fmt.Errorf("%s: %s", op, C.GoString(&buf[0]))
}

func setOpt(d **C.AVDictionary, k, v string) {
	ck, cv := C.CString(k), C.CString(v)
	defer C.free(unsafe.Pointer(ck))
	defer C.free(unsafe.Pointer(cv))
	C.av_dict_set(d, ck, cv, 0)
}

// openAV opens backend with the resolved settings s.
func openAV(backend string, s Settings) (_ *avEncoder, err error) {
	name := C.CString(backend)
	defer C.free(unsafe.Pointer(name))
	codec := C.avcodec_find_encoder_by_name(name)
	if codec == nil {
		return nil, &backendError{backend, "encoder not compiled into libavcodec"}
	}
	av := &avEncoder{format: NV12}
	defer func() {
		if err != nil {
			av.close() // whatever was set up before the failure
		}
	}()
	if av.ctx = C.avcodec_alloc_context3(codec); av.ctx == nil {
		return nil, errors.New("out of memory")
	}
	c := av.ctx
	c.width, c.height = C.int(s.Width), C.int(s.Height)
	c.time_base = C.AVRational{num: 1, den: tickRate}
	c.framerate = C.AVRational{num: C.int(s.FPS), den: 1}
	c.gop_size = C.int(s.FPS * s.KeyframeSeconds)
	c.max_b_frames = C.int(s.BFrames)
	setRate(c, s.BitrateKbps)
	c.colorspace = C.AVCOL_SPC_SMPTE170M // libyuv's matrix
	c.color_range = C.AVCOL_RANGE_MPEG
	c.color_primaries = C.AVCOL_PRI_BT709 // screens are sRGB
	c.color_trc = C.AVCOL_TRC_IEC61966_2_1

	var opts *C.AVDictionary
	defer C.av_dict_free(&opts)
	switch backend {
	case BackendX264:
		av.format, av.liveBitrate, av.takesDirect, av.lengthPrefixed = I420, true, true, true
		setOpt(&opts, "preset", s.Preset)
		setOpt(&opts, "tune", "zerolatency")
		setOpt(&opts, "profile", s.Profile)
		setOpt(&opts, "forced-idr", "1")
		// Rate control counts frames, not timestamps: the compositor paces
		// a constant rate, and the SPS then states the real frame rate.
		// Length-prefixed output: see lengthPrefixed.
		setOpt(&opts, "x264-params", "force-cfr=1:annexb=0")
	case BackendNVENC:
		av.liveBitrate = true
		setOpt(&opts, "preset", nvencPreset[s.Preset])
		setOpt(&opts, "tune", "ull")
		setOpt(&opts, "rc", "cbr")
		setOpt(&opts, "zerolatency", "1")
		setOpt(&opts, "forced-idr", "1")
		setOpt(&opts, "profile", s.Profile)
	case BackendQSV:
		setOpt(&opts, "preset", qsvPreset[s.Preset])
		setOpt(&opts, "forced_idr", "1")
		setOpt(&opts, "look_ahead", "0")
		setOpt(&opts, "async_depth", "1")
		setOpt(&opts, "profile", s.Profile)
	case BackendVAAPI:
		// VAAPI has no speed presets; the driver decides.
		setOpt(&opts, "rc_mode", "CBR")
		prof := s.Profile
		if prof == "baseline" {
			prof = "constrained_baseline"
		}
		setOpt(&opts, "profile", prof)
		if err := av.initVAAPI(s); err != nil {
			return nil, err
		}
	}
	if c.pix_fmt != C.AV_PIX_FMT_VAAPI {
		c.pix_fmt = C.AV_PIX_FMT_NV12
		if av.format == I420 {
			c.pix_fmt = C.AV_PIX_FMT_YUV420P
		}
	}
	if rc := C.avcodec_open2(c, codec, &opts); rc < 0 {
		return nil, averr("avcodec_open2", rc)
	}
	if av.sw = C.av_frame_alloc(); av.sw == nil {
		return nil, errors.New("out of memory")
	}
	if err := av.allocSW(); err != nil {
		return nil, err
	}
	if av.pkt = C.av_packet_alloc(); av.pkt == nil {
		return nil, errors.New("out of memory")
	}
	return av, nil
}

func setRate(c *C.AVCodecContext, kbps int) {
	// CBR in the VBV sense: average = peak, one second of buffer.
	bps := int64(kbps) * 1000
	c.bit_rate = C.int64_t(bps)
	c.rc_max_rate = C.int64_t(bps)
	c.rc_buffer_size = C.int(bps)
}

// initVAAPI opens the VAAPI device and a pool of NV12 surfaces; frames are
// uploaded into it with av_hwframe_transfer_data.
func (av *avEncoder) initVAAPI(s Settings) error {
	var dev *C.AVBufferRef
	var cdev *C.char
	if s.VAAPIDevice != "" {
		cdev = C.CString(s.VAAPIDevice)
		defer C.free(unsafe.Pointer(cdev))
	}
	if rc := C.av_hwdevice_ctx_create(&dev, C.AV_HWDEVICE_TYPE_VAAPI, cdev, nil, 0); rc < 0 {
		return averr("cannot open a VAAPI device", rc)
	}
	defer C.av_buffer_unref(&dev)
	frames := C.av_hwframe_ctx_alloc(dev)
	if frames == nil {
		return errors.New("av_hwframe_ctx_alloc failed")
	}
	defer C.av_buffer_unref(&frames)
	fc := (*C.AVHWFramesContext)(unsafe.Pointer(frames.data))
	fc.format = C.AV_PIX_FMT_VAAPI
	fc.sw_format = C.AV_PIX_FMT_NV12
	fc.width, fc.height = C.int(s.Width), C.int(s.Height)
	fc.initial_pool_size = hwFramesPool
	if rc := C.av_hwframe_ctx_init(frames); rc < 0 {
		return averr("av_hwframe_ctx_init", rc)
	}
	av.ctx.hw_frames_ctx = C.av_buffer_ref(frames)
	av.ctx.pix_fmt = C.AV_PIX_FMT_VAAPI
	if av.hw = C.av_frame_alloc(); av.hw == nil {
		return errors.New("out of memory")
	}
	return nil
}

// allocSW gives the software frame fresh buffers.
func (av *avEncoder) allocSW() error {
	f := av.sw
	C.av_frame_unref(f)
	f.width, f.height = av.ctx.width, av.ctx.height
	f.format = avFormat(av.format)
	if rc := C.av_frame_get_buffer(f, 0); rc < 0 {
		return averr("av_frame_get_buffer", rc)
	}
	return nil
}

// avFormat is the libavcodec pixel format of a software frame.
func avFormat(f Format) C.int {
	if f == I420 {
		return C.int(C.AV_PIX_FMT_YUV420P)
	}
	return C.int(C.AV_PIX_FMT_NV12)
}

// TrimHeap hands the C heap's free memory back to the system: glibc keeps
// what closed encoders freed (libx264 holds tens of megabytes at 1080p) in
// its arenas for reuse, where a new encoder's blocks rarely fit
// (BENCHMARKS.md, "Encoder memory through changes of settings"). It holds
// the heap's locks while it works, so call it at normal priority, never
// from a background thread that could be preempted holding them.
func TrimHeap() { C.onair_trim() }

// NewDirectFrame allocates a frame whose planes are a libavcodec frame's
// buffers, which a software encoder takes as they are: encoding a frame in
// Go memory (NewFrame) first copies it into the encoder's own. The planes
// are freed by Free, or with the Frame, so keep it while they are in use.
func NewDirectFrame(format Format, width, height int) (*Frame, error) {
	if format != I420 && format != NV12 {
		return nil, fmt.Errorf("codec: unknown frame format %v", format)
	}
	if !limits.PictureSizeOK(width, height) {
		return nil, fmt.Errorf("codec: frame size %dx%d out of range", width, height)
	}
	av := C.av_frame_alloc()
	if av == nil {
		return nil, errors.New("codec: out of memory")
	}
	av.width, av.height, av.format = C.int(width), C.int(height), avFormat(format)
	if rc := C.av_frame_get_buffer(av, 0); rc < 0 {
		C.av_frame_free(&av)
		return nil, averr("av_frame_get_buffer", rc)
	}
	f := &Frame{Format: format, Width: width, Height: height, direct: unsafe.Pointer(av)}
	ch := (height + 1) / 2
	rows := []int{height, ch, ch}
	if format == NV12 {
		rows = rows[:2]
	}
	for i, n := range rows {
		f.Strides[i] = int(av.linesize[i])
		f.Planes[i] = unsafe.Slice((*byte)(unsafe.Pointer(av.data[i])), f.Strides[i]*n)
	}
	cleanup := runtime.AddCleanup(f, func(av *C.AVFrame) { C.av_frame_free(&av) }, av)
	f.free = func() {
		cleanup.Stop()
		C.av_frame_free(&av)
	}
	return f, nil
}

// direct is fr's own libavcodec frame when this encoder can take it
// without a copy: libx264, fr in its pixel format.
func (av *avEncoder) direct(fr *Frame) *C.AVFrame {
	if fr.direct == nil || !av.takesDirect || av.copyOnly {
		return nil
	}
	f := (*C.AVFrame)(fr.direct)
	if f.format != av.sw.format {
		return nil
	}
	return f
}

// fill copies fr into the software frame. An encoder still holding the
// previous buffer gets to keep it; the copy goes into a new one.
func (av *avEncoder) fill(fr *Frame) error {
	if C.av_frame_is_writable(av.sw) == 0 {
		if err := av.allocSW(); err != nil {
			return err
		}
	}
	p := func(i int) *C.uint8_t {
		if fr.Planes[i] == nil || (fr.Format == NV12 && i == 2) {
			return nil
		}
		return (*C.uint8_t)(unsafe.Pointer(&fr.Planes[i][0]))
	}
	if C.onair_fill(av.sw, p(0), C.int(fr.Strides[0]), p(1), C.int(fr.Strides[1]), p(2), C.int(fr.Strides[2])) != 0 {
		return errors.New("codec: copying the frame into the encoder failed")
	}
	return nil
}

// fillBlack paints the software frame black, for test encodes.
func (av *avEncoder) fillBlack() error {
	if err := av.allocSW(); err != nil {
		return err
	}
	f := av.sw
	h := int(f.height)
	planes := 3
	if av.format == NV12 {
		planes = 2
	}
	for i := 0; i < planes; i++ {
		rows, val := h, byte(16)
		if i > 0 {
			rows, val = (h+1)/2, 128
		}
		b := unsafe.Slice((*byte)(unsafe.Pointer(f.data[i])), int(f.linesize[i])*rows)
		for j := range b {
			b[j] = val
		}
	}
	return nil
}

// sendDirect submits a direct frame (see direct). libx264 copies the
// picture in before avcodec_send_frame returns, so the caller may refill it
// at once; should it ever still hold it afterwards, direct frames are off
// for the rest of the encoder's life.
func (av *avEncoder) sendDirect(f *C.AVFrame, pts int64, key bool) error {
	err := av.send(f, pts, key)
	if C.av_frame_is_writable(f) == 0 {
		av.copyOnly = true
	}
	return err
}

// send submits f (the software frame, or a direct one) with the given
// pts, as an IDR if key.
func (av *avEncoder) send(f *C.AVFrame, pts int64, key bool) error {
	f.pts = C.int64_t(pts)
	f.pict_type = C.AV_PICTURE_TYPE_NONE
	f.key_frame = 0
	if key {
		f.pict_type = C.AV_PICTURE_TYPE_I
		f.key_frame = 1
	}
	if av.hw != nil {
		h := av.hw
		C.av_frame_unref(h)
		if rc := C.av_hwframe_get_buffer(av.ctx.hw_frames_ctx, h, 0); rc < 0 {
			return averr("av_hwframe_get_buffer", rc)
		}
		if rc := C.av_hwframe_transfer_data(h, f, 0); rc < 0 {
			return averr("av_hwframe_transfer_data", rc)
		}
		h.pts, h.pict_type, h.key_frame = f.pts, f.pict_type, f.key_frame
		f = h
	}
	if rc := av.sendFrame(f); rc < 0 {
		return averr("avcodec_send_frame", rc)
	}
	return nil
}

// startSender moves the encoder's sends onto a thread of their own.
func (av *avEncoder) startSender() error {
	var efd C.int
	s := C.onair_sender_start(av.ctx, &efd)
	if s == nil {
		return errors.New("codec: starting the encoder's send thread failed")
	}
	av.sender, av.sent = s, os.NewFile(uintptr(efd), "encoder-sends")
	return nil
}

// sendFrame is avcodec_send_frame, made on the sender's thread when there
// is one while this goroutine waits parked.
func (av *avEncoder) sendFrame(f *C.AVFrame) C.int {
	if av.sender == nil {
		return C.avcodec_send_frame(av.ctx, f)
	}
	C.onair_sender_submit(av.sender, f)
	if _, err := io.ReadFull(av.sent, av.count[:]); err != nil {
		// The eventfd cannot fail while the encoder is open; should it,
		// stopping waits for the send in flight, and sends go on here.
		C.onair_sender_stop(av.sender)
		av.sender = nil
		return C.AVERROR_UNKNOWN
	}
	return C.onair_sender_result(av.sender)
}

// rawPacket is one packet as libavcodec returned it, in 1/90000 ticks.
type rawPacket struct {
	data     []byte
	pts, dts int64
	key      bool
}

// drain collects every packet the encoder has ready; with flush it first
// signals end of stream and waits for the last one.
func (av *avEncoder) drain(flush bool) ([]rawPacket, error) {
	if flush {
		if rc := av.sendFrame(nil); rc < 0 && rc != C.ONAIR_EOF {
			return nil, averr("avcodec_send_frame", rc)
		}
	}
	var out []rawPacket
	for {
		rc := C.avcodec_receive_packet(av.ctx, av.pkt)
		if rc == C.ONAIR_EAGAIN || rc == C.ONAIR_EOF {
			return out, nil
		}
		if rc < 0 {
			return out, averr("avcodec_receive_packet", rc)
		}
		p := av.pkt
		out = append(out, rawPacket{
			data: C.GoBytes(unsafe.Pointer(p.data), p.size),
			pts:  int64(p.pts),
			dts:  int64(p.dts),
			key:  p.flags&C.AV_PKT_FLAG_KEY != 0,
		})
		C.av_packet_unref(p)
	}
}

// split cuts one access unit of the encoder's output into NAL units.
func (av *avEncoder) split(data []byte) ([][]byte, error) {
	if av.lengthPrefixed {
		var au h264.AVCC
		err := au.Unmarshal(data)
		return au, err
	}
	var au h264.AnnexB
	err := au.Unmarshal(data)
	return au, err
}

func (av *avEncoder) close() {
	if av == nil {
		return
	}
	if av.sender != nil {
		C.onair_sender_stop(av.sender)
		av.sender = nil
	}
	if av.sent != nil {
		av.sent.Close()
	}
	C.av_packet_free(&av.pkt)
	C.av_frame_free(&av.sw)
	C.av_frame_free(&av.hw)
	C.avcodec_free_context(&av.ctx)
}

// tryBackend opens backend and encodes one black frame through it, the
// only proof that a hardware encoder really works on this machine.
func tryBackend(backend string, s Settings) error {
	logged, err := withAVLog(func() error {
		av, err := openAV(backend, s)
		if err != nil {
			return err
		}
		defer av.close()
		if err := av.fillBlack(); err != nil {
			return err
		}
		if err := av.send(av.sw, 0, true); err != nil {
			return err
		}
		pkts, err := av.drain(true)
		if err != nil {
			return err
		}
		if len(pkts) == 0 || len(pkts[0].data) == 0 {
			return errors.New("test frame produced no output")
		}
		return nil
	})
	if err != nil {
		return refusal(backend, err, logged)
	}
	return nil
}

// openBackend opens backend for real, with the same refusal reasons.
func openBackend(backend string, s Settings) (*avEncoder, error) {
	var av *avEncoder
	logged, err := withAVLog(func() (err error) {
		av, err = openAV(backend, s)
		return err
	})
	if err != nil {
		return nil, refusal(backend, err, logged)
	}
	if err := av.startSender(); err != nil {
		av.close()
		return nil, err
	}
	return av, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
