package audio

// #cgo pkg-config: libavcodec libavutil
// #include <string.h>
// #include <libavcodec/avcodec.h>
// #include <libavutil/audio_fifo.h>
// #include <libavutil/channel_layout.h>
// #include <libavutil/mem.h>
//
// typedef struct {
//   AVCodecContext *dec, *enc;
//   AVFrame *in, *out;
//   AVPacket *pkt;
//   AVAudioFifo *fifo;
// } opus_tc;
//
// static void otc_close(opus_tc *o) {
//   avcodec_free_context(&o->dec); avcodec_free_context(&o->enc);
//   av_frame_free(&o->in); av_frame_free(&o->out); av_packet_free(&o->pkt);
//   if (o->fifo) av_audio_fifo_free(o->fifo);
//   av_free(o);
// }
//
// // otc_open: an AAC decoder for asc and a 48 kHz stereo libopus encoder.
// static int otc_open(opus_tc **out, const uint8_t *asc, int asclen, int bitrate) {
//   opus_tc *o = av_mallocz(sizeof(*o));
//   if (!o) return AVERROR(ENOMEM);
//   const AVCodec *d = avcodec_find_decoder(AV_CODEC_ID_AAC);
//   const AVCodec *e = avcodec_find_encoder_by_name("libopus");
//   if (!d || !e) { av_free(o); return AVERROR_DECODER_NOT_FOUND; }
//   o->dec = avcodec_alloc_context3(d);
//   o->enc = avcodec_alloc_context3(e);
//   o->in = av_frame_alloc(); o->out = av_frame_alloc(); o->pkt = av_packet_alloc();
//   o->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLT, 2, 4096);
//   if (!o->dec || !o->enc || !o->in || !o->out || !o->pkt || !o->fifo) { otc_close(o); return AVERROR(ENOMEM); }
//   o->dec->extradata = av_mallocz(asclen + AV_INPUT_BUFFER_PADDING_SIZE);
//   if (!o->dec->extradata) { otc_close(o); return AVERROR(ENOMEM); }
//   memcpy(o->dec->extradata, asc, asclen);
//   o->dec->extradata_size = asclen;
//   int err = avcodec_open2(o->dec, d, NULL);
//   if (err < 0) { otc_close(o); return err; }
//   o->enc->sample_rate = 48000;
//   o->enc->sample_fmt = AV_SAMPLE_FMT_FLT;
//   o->enc->bit_rate = bitrate;
//   av_channel_layout_default(&o->enc->ch_layout, 2);
//   o->enc->time_base = (AVRational){1, 48000};
//   err = avcodec_open2(o->enc, e, NULL);
//   if (err < 0) { otc_close(o); return err; }
//   *out = o;
//   return 0;
// }
//
// // otc_push decodes one AAC frame into the FIFO as interleaved stereo.
// static int otc_push(opus_tc *o, const uint8_t *data, int len) {
//   o->pkt->data = (uint8_t *)data; o->pkt->size = len;
//   int err = avcodec_send_packet(o->dec, o->pkt);
//   o->pkt->data = NULL; o->pkt->size = 0;
//   if (err < 0) return err;
//   for (;;) {
//     err = avcodec_receive_frame(o->dec, o->in);
//     if (err == AVERROR(EAGAIN)) return 0;
//     if (err < 0) return err;
//     if (o->in->sample_rate != 48000 || o->in->format != AV_SAMPLE_FMT_FLTP) { av_frame_unref(o->in); return AVERROR(EINVAL); }
//     int n = o->in->nb_samples, ch = o->in->ch_layout.nb_channels;
//     float *buf = av_malloc(sizeof(float) * 2 * n);
//     if (!buf) { av_frame_unref(o->in); return AVERROR(ENOMEM); }
//     const float *l = (const float *)o->in->extended_data[0];
//     const float *r = (const float *)o->in->extended_data[ch > 1 ? 1 : 0];
//     for (int i = 0; i < n; i++) { buf[2*i] = l[i]; buf[2*i+1] = r[i]; }
//     void *planes[1] = {buf};
//     err = av_audio_fifo_write(o->fifo, planes, n);
//     av_free(buf);
//     av_frame_unref(o->in);
//     if (err < 0) return err;
//   }
// }
//
// // otc_pull returns the next Opus packet's size (copied to out, at most cap
// // bytes), 0 when more sound is needed, or a negative error.
// static int otc_pull(opus_tc *o, uint8_t *out, int cap) {
//   for (;;) {
//     int err = avcodec_receive_packet(o->enc, o->pkt);
//     if (err == 0) {
//       int n = o->pkt->size;
//       if (n <= cap) memcpy(out, o->pkt->data, n); else n = AVERROR(ENOSPC);
//       av_packet_unref(o->pkt);
//       return n;
//     }
//     if (err != AVERROR(EAGAIN)) return err;
//     int fs = o->enc->frame_size;
//     if (av_audio_fifo_size(o->fifo) < fs) return 0;
//     av_frame_unref(o->out);
//     o->out->nb_samples = fs; o->out->format = AV_SAMPLE_FMT_FLT; o->out->sample_rate = 48000;
//     av_channel_layout_default(&o->out->ch_layout, 2);
//     if ((err = av_frame_get_buffer(o->out, 0)) < 0) return err;
//     if ((err = av_audio_fifo_read(o->fifo, (void **)o->out->data, fs)) < 0) return err;
//     if ((err = avcodec_send_frame(o->enc, o->out)) < 0) return err;
//   }
// }
import "C"

import (
	"errors"
	"unsafe"
)

// OpusTranscoder turns AAC (any rate the program uses is 48 kHz) into
// 20 ms Opus packets, 48 kHz stereo, with libavcodec's AAC decoder and
// libopus. One goroutine uses it at a time.
type OpusTranscoder struct {
	o   *C.opus_tc
	buf []byte
}

// OpusFrameSamples is the samples one Opus packet carries (20 ms).
const OpusFrameSamples = 960

// NewOpusTranscoder opens a transcoder for AAC coded as asc (an
// AudioSpecificConfig), sending Opus at kbps.
func NewOpusTranscoder(asc []byte, kbps int) (*OpusTranscoder, error) {
	if len(asc) == 0 || len(asc) > 64 {
		return nil, errors.New("opus: want an AudioSpecificConfig of 1 to 64 bytes")
	}
	t := &OpusTranscoder{buf: make([]byte, 4000)}
	if err := C.otc_open(&t.o, (*C.uint8_t)(unsafe.Pointer(&asc[0])), C.int(len(asc)), C.int(kbps*1000)); err < 0 {
		return nil, averr("opus: opening AAC → Opus", err)
	}
	return t, nil
}

// Transcode decodes one AAC frame and returns the Opus packets now ready
// (a 1024-sample frame makes one or two 960-sample packets).
func (t *OpusTranscoder) Transcode(aac []byte) ([][]byte, error) {
	if len(aac) == 0 {
		return nil, nil
	}
	if err := C.otc_push(t.o, (*C.uint8_t)(unsafe.Pointer(&aac[0])), C.int(len(aac))); err < 0 {
		return nil, averr("opus: decoding AAC", err)
	}
	var out [][]byte
	for {
		n := C.otc_pull(t.o, (*C.uint8_t)(unsafe.Pointer(&t.buf[0])), C.int(len(t.buf)))
		if n < 0 {
			return out, averr("opus: encoding", n)
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, append([]byte(nil), t.buf[:n]...))
	}
}

// Close releases the codecs.
func (t *OpusTranscoder) Close() {
	if t.o != nil {
		C.otc_close(t.o)
		t.o = nil
	}
}
