#include "decode.h"

#include <stdio.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavdevice/avdevice.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

struct dec_reader {
	AVFormatContext *in;
	int vi, ai;
	AVCodecContext *vdec, *adec;
	AVPacket *pkt;
	AVFrame *frame;
	struct SwsContext *sws;
	SwrContext *swr;
	int64_t origin_us; // the input's start time
	int eof;           // the demuxer is done; the decoders are being drained
	int vdone, adone;  // each decoder drained
};

static void say(int rc, const char *what, char *err, int errlen) {
	char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
	av_strerror(rc, buf, sizeof buf);
	snprintf(err, errlen, "%s: %s", what, buf);
}

static int open_decoder(AVStream *st, AVCodecContext **out, char *err, int errlen) {
	const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
	if (!codec) {
		snprintf(err, errlen, "no decoder for %s", avcodec_get_name(st->codecpar->codec_id));
		return AVERROR_DECODER_NOT_FOUND;
	}
	AVCodecContext *c = avcodec_alloc_context3(codec);
	if (!c) return AVERROR(ENOMEM);
	int rc = avcodec_parameters_to_context(c, st->codecpar);
	if (rc >= 0) {
		c->pkt_timebase = st->time_base;
		c->thread_count = 1; // a layer among many: one core's share
		rc = avcodec_open2(c, codec, NULL);
	}
	if (rc < 0) {
		say(rc, "opening the decoder", err, errlen);
		avcodec_free_context(&c);
		return rc;
	}
	*out = c;
	return 0;
}

void dec_close(dec_reader *r) {
	if (!r) return;
	avcodec_free_context(&r->vdec);
	avcodec_free_context(&r->adec);
	av_packet_free(&r->pkt);
	av_frame_free(&r->frame);
	sws_freeContext(r->sws);
	swr_free(&r->swr);
	avformat_close_input(&r->in);
	av_free(r);
}

dec_reader *dec_open(const char *url, const char *fmt, const char *opts, char *err, int errlen) {
	static int registered;
	if (!registered) {
		avdevice_register_all();
		av_log_set_level(AV_LOG_QUIET);
		registered = 1;
	}
	const AVInputFormat *f = NULL;
	if (fmt) {
		f = av_find_input_format(fmt);
		if (!f) {
			snprintf(err, errlen, "this FFmpeg has no %s input", fmt);
			return NULL;
		}
	}
	AVDictionary *d = NULL;
	if (opts && *opts) av_dict_parse_string(&d, opts, "=", "\n", 0);
	dec_reader *r = av_mallocz(sizeof *r);
	if (!r) return NULL;
	r->vi = r->ai = -1;
	int rc = avformat_open_input(&r->in, url, f, &d);
	av_dict_free(&d);
	if (rc >= 0) rc = avformat_find_stream_info(r->in, NULL);
	if (rc < 0) {
		say(rc, "reading it", err, errlen);
		dec_close(r);
		return NULL;
	}
	r->vi = av_find_best_stream(r->in, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (r->vi < 0) {
		snprintf(err, errlen, "it has no video stream");
		dec_close(r);
		return NULL;
	}
	if (open_decoder(r->in->streams[r->vi], &r->vdec, err, errlen) < 0) {
		dec_close(r);
		return NULL;
	}
	r->ai = av_find_best_stream(r->in, AVMEDIA_TYPE_AUDIO, -1, r->vi, NULL, 0);
	if (r->ai >= 0) {
		char ignored[256];
		AVCodecParameters *p = r->in->streams[r->ai]->codecpar;
		AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
		if (open_decoder(r->in->streams[r->ai], &r->adec, ignored, sizeof ignored) < 0 ||
		    p->sample_rate <= 0 || p->ch_layout.nb_channels <= 0 ||
		    swr_alloc_set_opts2(&r->swr, &stereo, AV_SAMPLE_FMT_FLT, 48000,
		                        &r->adec->ch_layout, r->adec->sample_fmt, r->adec->sample_rate, 0, NULL) < 0 ||
		    swr_init(r->swr) < 0) {
			// A picture without its sound is still worth showing.
			avcodec_free_context(&r->adec);
			swr_free(&r->swr);
			r->ai = -1;
		}
	}
	r->origin_us = r->in->start_time == AV_NOPTS_VALUE ? 0 : r->in->start_time;
	r->pkt = av_packet_alloc();
	r->frame = av_frame_alloc();
	if (!r->pkt || !r->frame) {
		dec_close(r);
		return NULL;
	}
	return r;
}

int dec_has_audio(dec_reader *r) { return r->ai >= 0; }

static double seconds(dec_reader *r, int64_t ts, AVRational tb) {
	if (ts == AV_NOPTS_VALUE) return 0;
	return av_q2d(tb) * ts - r->origin_us / 1e6;
}

// take receives a frame from c if one is ready: 1 when one is, 0 when the
// decoder wants input, -1 with done set when it is drained, <0 on error.
static int take(AVCodecContext *c, AVFrame *f, int *done) {
	int rc = avcodec_receive_frame(c, f);
	if (rc == AVERROR(EAGAIN)) return 0;
	if (rc == AVERROR_EOF) {
		*done = 1;
		return 0;
	}
	return rc < 0 ? rc : 1;
}

int dec_next(dec_reader *r, char *err, int errlen) {
	for (;;) {
		int rc = take(r->vdec, r->frame, &r->vdone);
		if (rc < 0) {
			say(rc, "decoding the picture", err, errlen);
			return rc;
		}
		if (rc) return DEC_VIDEO;
		if (r->adec) {
			rc = take(r->adec, r->frame, &r->adone);
			if (rc > 0) return DEC_AUDIO;
			// A broken block of sound is left out; the picture goes on.
		}
		if (r->eof) {
			if (r->vdone && (!r->adec || r->adone)) return DEC_END;
			continue;
		}
		rc = av_read_frame(r->in, r->pkt);
		if (rc == AVERROR_EOF) {
			r->eof = 1;
			avcodec_send_packet(r->vdec, NULL);
			if (r->adec) avcodec_send_packet(r->adec, NULL);
			continue;
		}
		if (rc < 0) {
			say(rc, "reading", err, errlen);
			return rc;
		}
		AVCodecContext *c = r->pkt->stream_index == r->vi ? r->vdec : r->pkt->stream_index == r->ai ? r->adec : NULL;
		if (c) {
			rc = avcodec_send_packet(c, r->pkt);
			if (rc < 0 && rc != AVERROR(EAGAIN) && c == r->vdec && rc != AVERROR_INVALIDDATA) {
				av_packet_unref(r->pkt);
				say(rc, "decoding the picture", err, errlen);
				return rc;
			}
		}
		av_packet_unref(r->pkt);
	}
}

void dec_video_info(dec_reader *r, int *w, int *h, double *t, double *dur) {
	AVStream *st = r->in->streams[r->vi];
	*w = r->frame->width;
	*h = r->frame->height;
	*t = seconds(r, r->frame->best_effort_timestamp, st->time_base);
	*dur = r->frame->pkt_duration > 0 ? av_q2d(st->time_base) * r->frame->pkt_duration : 0;
	if (*dur <= 0 && st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0) *dur = 1 / av_q2d(st->avg_frame_rate);
}

int dec_video_rgba(dec_reader *r, uint8_t *dst, int stride, int w, int h) {
	AVFrame *f = r->frame;
	r->sws = sws_getCachedContext(r->sws, f->width, f->height, f->format, w, h, AV_PIX_FMT_RGBA,
	                              SWS_BILINEAR, NULL, NULL, NULL);
	if (!r->sws) return AVERROR(EINVAL);
	uint8_t *planes[4] = {dst};
	int strides[4] = {stride};
	return sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, planes, strides);
}

double dec_audio_time(dec_reader *r) {
	return seconds(r, r->frame->best_effort_timestamp, r->in->streams[r->ai]->time_base);
}

int dec_audio_samples(dec_reader *r, float *dst, int cap) {
	uint8_t *out[1] = {(uint8_t *)dst};
	return swr_convert(r->swr, out, cap, (const uint8_t **)r->frame->extended_data, r->frame->nb_samples);
}

int dec_audio_room(dec_reader *r) { return swr_get_out_samples(r->swr, r->frame->nb_samples); }

int dec_rewind(dec_reader *r, char *err, int errlen) {
	int rc = avformat_seek_file(r->in, -1, INT64_MIN, r->in->start_time == AV_NOPTS_VALUE ? 0 : r->in->start_time, INT64_MAX, 0);
	if (rc < 0) {
		say(rc, "going back to the start", err, errlen);
		return rc;
	}
	avcodec_flush_buffers(r->vdec);
	if (r->adec) avcodec_flush_buffers(r->adec);
	r->eof = r->vdone = r->adone = 0;
	return 0;
}
