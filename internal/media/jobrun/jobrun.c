#include "jobrun.h"

#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

typedef struct out_ctx {
	AVFormatContext *fmt;
	AVCodecContext *enc; // NULL: the video is copied
	struct SwsContext *sws;
	AVFrame *frame;
	int vst, ast; // output stream indexes, -1 when absent
} out_ctx;

typedef struct run_ctx {
	jr_job *job;
	AVFormatContext *in;
	AVCodecContext *dec;
	int vi, ai; // input stream indexes, -1 when absent
	int copy;
	int64_t origin_us, start_us, end_us;
	int video_over, audio_over;
	int crop_x, crop_y, crop_w, crop_h;
	out_ctx out[JR_MAX_OUT];
	AVPacket *pkt;
	AVFrame *frame;
} run_ctx;

static int interrupted(void *opaque) { return ((jr_job *)opaque)->cancel; }

static int fail(jr_job *j, int ret, const char *what, const char *where) {
	char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
	av_strerror(ret, buf, sizeof buf);
	snprintf(j->err, sizeof j->err, "%s %s: %s", what, where, buf);
	return ret;
}

static int open_input(AVFormatContext **ic, const char *path, jr_job *j, char *err, int errlen) {
	*ic = avformat_alloc_context();
	if (!*ic) return AVERROR(ENOMEM);
	if (j) {
		(*ic)->interrupt_callback.callback = interrupted;
		(*ic)->interrupt_callback.opaque = j;
	}
	int ret = avformat_open_input(ic, path, NULL, NULL);
	if (ret >= 0) ret = avformat_find_stream_info(*ic, NULL);
	if (ret < 0) {
		char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
		av_strerror(ret, buf, sizeof buf);
		snprintf(err, errlen, "reading %s: %s", path, buf);
		avformat_close_input(ic);
	}
	return ret;
}

void jr_quiet(void) { av_log_set_level(AV_LOG_ERROR); }

int jr_probe(const char *in, int64_t *duration_us, int *width, int *height, char *err, int errlen) {
	AVFormatContext *ic = NULL;
	int ret = open_input(&ic, in, NULL, err, errlen);
	if (ret < 0) return ret;
	*duration_us = ic->duration == AV_NOPTS_VALUE ? 0 : ic->duration;
	*width = *height = 0;
	int vi = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (vi >= 0) {
		*width = ic->streams[vi]->codecpar->width;
		*height = ic->streams[vi]->codecpar->height;
	}
	avformat_close_input(&ic);
	return 0;
}

static int64_t to_us(int64_t ts, AVRational tb) { return av_rescale_q(ts, tb, AV_TIME_BASE_Q); }

// shift is what moves the cut's start to 0, in tb.
static int64_t shift(run_ctx *r, AVRational tb) { return av_rescale_q(r->origin_us + r->start_us, AV_TIME_BASE_Q, tb); }

static int write_packet(run_ctx *r, out_ctx *o, AVPacket *p, int ost, AVRational from) {
	AVStream *st = o->fmt->streams[ost];
	p->stream_index = ost;
	av_packet_rescale_ts(p, from, st->time_base);
	p->pos = -1;
	int ret = av_interleaved_write_frame(o->fmt, p);
	if (ret < 0) return fail(r->job, ret, "writing", o->fmt->url);
	return 0;
}

static int drain(run_ctx *r, out_ctx *o) {
	AVPacket *p = av_packet_alloc();
	int ret;
	while ((ret = avcodec_receive_packet(o->enc, p)) >= 0) {
		ret = write_packet(r, o, p, o->vst, o->enc->time_base);
		av_packet_unref(p);
		if (ret < 0) break;
	}
	av_packet_free(&p);
	if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return 0;
	if (ret < 0 && !r->job->err[0]) fail(r->job, ret, "encoding", o->fmt->url);
	return ret;
}

// picture scales (and crops) one decoded picture into every output.
static int picture(run_ctx *r, AVFrame *f) {
	AVStream *st = r->in->streams[r->vi];
	int64_t ts = f->best_effort_timestamp;
	if (ts == AV_NOPTS_VALUE) ts = f->pts;
	int64_t t = to_us(ts, st->time_base) - r->origin_us;
	if (t < r->start_us) return 0;
	if (r->end_us > 0 && t >= r->end_us) {
		r->video_over = 1;
		return 0;
	}
	r->job->done_us = t - r->start_us;
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
	int steps[4];
	av_image_fill_max_pixsteps(steps, NULL, d);
	const uint8_t *src[4] = {0};
	for (int p = 0; p < 4 && f->data[p]; p++) {
		int chroma = p == 1 || p == 2;
		int x = chroma ? r->crop_x >> d->log2_chroma_w : r->crop_x;
		int y = chroma ? r->crop_y >> d->log2_chroma_h : r->crop_y;
		src[p] = f->data[p] + (ptrdiff_t)y * f->linesize[p] + (ptrdiff_t)x * steps[p];
	}
	for (int i = 0; i < r->job->n; i++) {
		out_ctx *o = &r->out[i];
		o->sws = sws_getCachedContext(o->sws, r->crop_w, r->crop_h, f->format, o->enc->width,
		                              o->enc->height, o->enc->pix_fmt, SWS_BICUBIC, NULL, NULL, NULL);
		if (!o->sws) {
			snprintf(r->job->err, sizeof r->job->err, "scaling %dx%d to %dx%d: not supported", r->crop_w,
			         r->crop_h, o->enc->width, o->enc->height);
			return AVERROR(EINVAL);
		}
		int ret = av_frame_make_writable(o->frame);
		if (ret < 0) return fail(r->job, ret, "encoding", o->fmt->url);
		sws_scale(o->sws, src, f->linesize, 0, r->crop_h, o->frame->data, o->frame->linesize);
		o->frame->pts = ts - shift(r, st->time_base);
		if ((ret = avcodec_send_frame(o->enc, o->frame)) < 0) return fail(r->job, ret, "encoding", o->fmt->url);
		if ((ret = drain(r, o)) < 0) return ret;
	}
	return 0;
}

static int decode(run_ctx *r, AVPacket *p) {
	int ret = avcodec_send_packet(r->dec, p);
	if (ret < 0 && ret != AVERROR_EOF) return fail(r->job, ret, "decoding", r->in->url);
	while ((ret = avcodec_receive_frame(r->dec, r->frame)) >= 0) {
		ret = picture(r, r->frame);
		av_frame_unref(r->frame);
		if (ret < 0) return ret;
	}
	if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return 0;
	return fail(r->job, ret, "decoding", r->in->url);
}

// packet handles one input packet: the cut's sound and copied video go
// straight out, pictures to be re-encoded through the decoder.
static int packet(run_ctx *r, AVPacket *p) {
	int video = p->stream_index == r->vi;
	if (!video && p->stream_index != r->ai) return 0;
	AVStream *st = r->in->streams[p->stream_index];
	if (video && !r->copy) return decode(r, p);
	int64_t ts = p->pts != AV_NOPTS_VALUE ? p->pts : p->dts;
	if (ts != AV_NOPTS_VALUE) {
		int64_t t = to_us(ts, st->time_base) - r->origin_us;
		if (t < r->start_us) return 0;
		if (r->end_us > 0 && t >= r->end_us) {
			if (video) r->video_over = 1;
			else r->audio_over = 1;
			return 0;
		}
		if (video || r->vi < 0) r->job->done_us = t - r->start_us;
	}
	int64_t s = shift(r, st->time_base);
	for (int i = 0; i < r->job->n; i++) {
		out_ctx *o = &r->out[i];
		int ost = video ? o->vst : o->ast;
		if (ost < 0) continue;
		AVPacket *c = av_packet_clone(p);
		if (c->pts != AV_NOPTS_VALUE) c->pts -= s;
		if (c->dts != AV_NOPTS_VALUE) c->dts -= s;
		int ret = write_packet(r, o, c, ost, st->time_base);
		av_packet_free(&c);
		if (ret < 0) return ret;
	}
	return 0;
}

static int open_output(run_ctx *r, int i) {
	jr_job *j = r->job;
	jr_out *spec = &j->out[i];
	out_ctx *o = &r->out[i];
	o->vst = o->ast = -1;
	int ret = avformat_alloc_output_context2(&o->fmt, NULL, "mp4", spec->path);
	if (ret < 0) return fail(j, ret, "creating", spec->path);
	o->fmt->interrupt_callback.callback = interrupted;
	o->fmt->interrupt_callback.opaque = j;
	if (r->vi >= 0) {
		AVStream *in = r->in->streams[r->vi];
		AVStream *st = avformat_new_stream(o->fmt, NULL);
		if (r->copy) {
			avcodec_parameters_copy(st->codecpar, in->codecpar);
			st->codecpar->codec_tag = 0;
			st->time_base = in->time_base;
		} else {
			const AVCodec *c = avcodec_find_encoder_by_name("libx264");
			if (!c) c = avcodec_find_encoder(AV_CODEC_ID_H264);
			if (!c) return fail(j, AVERROR_ENCODER_NOT_FOUND, "encoding", spec->path);
			o->enc = avcodec_alloc_context3(c);
			o->enc->width = spec->width;
			o->enc->height = spec->height;
			o->enc->pix_fmt = AV_PIX_FMT_YUV420P;
			o->enc->time_base = in->time_base;
			AVRational fps = av_guess_frame_rate(r->in, in, NULL);
			if (fps.num > 0 && fps.den > 0) {
				o->enc->framerate = fps;
				o->enc->gop_size = 2 * fps.num / fps.den;
			}
			if (spec->kbps > 0) o->enc->bit_rate = (int64_t)spec->kbps * 1000;
			if (o->fmt->oformat->flags & AVFMT_GLOBALHEADER) o->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
			o->enc->thread_count = j->threads;
			if (spec->preset[0]) av_opt_set(o->enc->priv_data, "preset", spec->preset, 0);
			if ((ret = avcodec_open2(o->enc, c, NULL)) < 0) return fail(j, ret, "opening the H.264 encoder for", spec->path);
			avcodec_parameters_from_context(st->codecpar, o->enc);
			st->time_base = o->enc->time_base;
			o->frame = av_frame_alloc();
			o->frame->format = o->enc->pix_fmt;
			o->frame->width = o->enc->width;
			o->frame->height = o->enc->height;
			if ((ret = av_frame_get_buffer(o->frame, 0)) < 0) return fail(j, ret, "encoding", spec->path);
		}
		o->vst = st->index;
	}
	if (r->ai >= 0) {
		AVStream *in = r->in->streams[r->ai];
		AVStream *st = avformat_new_stream(o->fmt, NULL);
		avcodec_parameters_copy(st->codecpar, in->codecpar);
		st->codecpar->codec_tag = 0;
		st->time_base = in->time_base;
		o->ast = st->index;
	}
	if ((ret = avio_open2(&o->fmt->pb, spec->path, AVIO_FLAG_WRITE, &o->fmt->interrupt_callback, NULL)) < 0)
		return fail(j, ret, "creating", spec->path);
	AVDictionary *opts = NULL;
	av_dict_set(&opts, "movflags", "+faststart", 0);
	ret = avformat_write_header(o->fmt, &opts);
	av_dict_free(&opts);
	if (ret < 0) return fail(j, ret, "writing", spec->path);
	return 0;
}

static int open_decoder(run_ctx *r) {
	AVStream *st = r->in->streams[r->vi];
	const AVCodec *c = avcodec_find_decoder(st->codecpar->codec_id);
	if (!c) return fail(r->job, AVERROR_DECODER_NOT_FOUND, "decoding", r->in->url);
	r->dec = avcodec_alloc_context3(c);
	avcodec_parameters_to_context(r->dec, st->codecpar);
	r->dec->pkt_timebase = st->time_base;
	r->dec->thread_count = r->job->threads;
	int ret = avcodec_open2(r->dec, c, NULL);
	if (ret < 0) return fail(r->job, ret, "decoding", r->in->url);
	return 0;
}

// crop sets the part of the picture that is used: all of it, or the
// largest centred 9:16 rectangle.
static void crop(run_ctx *r) {
	AVCodecParameters *p = r->in->streams[r->vi]->codecpar;
	r->crop_x = r->crop_y = 0;
	r->crop_w = p->width;
	r->crop_h = p->height;
	if (!r->job->crop_vertical) return;
	int w = (p->height * 9 / 16) & ~1, h = p->height;
	if (w > p->width) {
		w = p->width;
		h = (p->width * 16 / 9) & ~1;
	}
	r->crop_x = ((p->width - w) / 2) & ~1;
	r->crop_y = ((p->height - h) / 2) & ~1;
	r->crop_w = w;
	r->crop_h = h;
}

static int run(run_ctx *r) {
	jr_job *j = r->job;
	int ret = open_input(&r->in, j->in, j, j->err, sizeof j->err);
	if (ret < 0) return ret;
	r->vi = av_find_best_stream(r->in, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	r->ai = av_find_best_stream(r->in, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
	if (r->vi < 0 && !r->copy) {
		snprintf(j->err, sizeof j->err, "%s has no video", j->in);
		return AVERROR(EINVAL);
	}
	if (r->vi < 0) r->vi = -1;
	if (r->ai < 0) r->ai = -1;
	r->origin_us = r->in->start_time == AV_NOPTS_VALUE ? 0 : r->in->start_time;
	r->start_us = (int64_t)(j->start * 1e6);
	r->end_us = j->end > 0 ? (int64_t)(j->end * 1e6) : 0;
	int64_t length = r->in->duration == AV_NOPTS_VALUE ? 0 : r->in->duration;
	j->total_us = (r->end_us > 0 ? r->end_us : length) - r->start_us;
	if (r->start_us > 0) {
		ret = av_seek_frame(r->in, -1, r->origin_us + r->start_us, AVSEEK_FLAG_BACKWARD);
		if (ret < 0) return fail(j, ret, "seeking in", j->in);
	}
	if (!r->copy) {
		if ((ret = open_decoder(r)) < 0) return ret;
		crop(r);
	}
	for (int i = 0; i < j->n; i++)
		if ((ret = open_output(r, i)) < 0) return ret;
	r->pkt = av_packet_alloc();
	r->frame = av_frame_alloc();
	for (;;) {
		if (j->cancel) return JR_CANCELLED;
		if (r->video_over && (r->ai < 0 || r->audio_over)) break;
		ret = av_read_frame(r->in, r->pkt);
		if (ret == AVERROR_EOF) break;
		if (ret < 0) return j->cancel ? JR_CANCELLED : fail(j, ret, "reading", j->in);
		ret = packet(r, r->pkt);
		av_packet_unref(r->pkt);
		if (ret < 0) return j->cancel ? JR_CANCELLED : ret;
	}
	if (!r->copy && !r->video_over && (ret = decode(r, NULL)) < 0) return ret;
	for (int i = 0; i < j->n; i++) {
		out_ctx *o = &r->out[i];
		if (o->enc) {
			avcodec_send_frame(o->enc, NULL);
			if ((ret = drain(r, o)) < 0) return ret;
		}
		if ((ret = av_write_trailer(o->fmt)) < 0) return j->cancel ? JR_CANCELLED : fail(j, ret, "finishing", o->fmt->url);
	}
	return j->cancel ? JR_CANCELLED : 0;
}

int jr_run(jr_job *j) {
	run_ctx r;
	memset(&r, 0, sizeof r);
	r.job = j;
	r.vi = r.ai = -1;
	r.copy = j->n > 0 && j->out[0].width == 0;
	j->err[0] = 0;
	int ret = run(&r);
	for (int i = 0; i < JR_MAX_OUT; i++) {
		out_ctx *o = &r.out[i];
		if (o->fmt) {
			if (o->fmt->pb) avio_closep(&o->fmt->pb);
			avformat_free_context(o->fmt);
		}
		avcodec_free_context(&o->enc);
		sws_freeContext(o->sws);
		av_frame_free(&o->frame);
	}
	avcodec_free_context(&r.dec);
	av_packet_free(&r.pkt);
	av_frame_free(&r.frame);
	avformat_close_input(&r.in);
	if (ret == JR_CANCELLED) return ret;
	return ret < 0 ? (j->err[0] ? ret : fail(j, ret, "working on", j->in)) : 0;
}
