#include "avwrap.h"

#include <pthread.h>
#include <stdarg.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libavutil/log.h>
#include <libavutil/pixfmt.h>
#include <libyuv/convert.h>
#include <libyuv/convert_from.h>
#include <libyuv/planar_functions.h>

#define CAP_SIZE 2048

// Thread-local so that concurrent opens never mix their reasons, and x264's
// own worker threads (which log through the same callback) are not captured.
static __thread int cap_on;
static __thread char cap_err[CAP_SIZE];
static __thread char cap_info[CAP_SIZE];

static void cap_append(char *buf, const char *line) {
	size_t len = strlen(buf);
	if (len > 0 && len + 2 < CAP_SIZE) {
		strcat(buf, "; ");
		len += 2;
	}
	if (len + 1 < CAP_SIZE) {
		strncat(buf, line, CAP_SIZE - len - 1);
	}
}

static void onair_log(void *avcl, int level, const char *fmt, va_list vl) {
	if (!cap_on) {
		if (level <= AV_LOG_ERROR) {
			av_log_default_callback(avcl, level, fmt, vl);
		}
		return;
	}
	if (level > AV_LOG_VERBOSE) {
		return;
	}
	char line[512];
	vsnprintf(line, sizeof line, fmt, vl);
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' ')) {
		line[--n] = 0;
	}
	if (n == 0) {
		return;
	}
	cap_append(level <= AV_LOG_ERROR ? cap_err : cap_info, line);
}

void onair_log_init(void) { av_log_set_callback(onair_log); }

void onair_capture_begin(void) {
	cap_err[0] = 0;
	cap_info[0] = 0;
	cap_on = 1;
}

const char *onair_capture_end(void) {
	cap_on = 0;
	return cap_err[0] ? cap_err : cap_info;
}

int onair_fill(AVFrame *dst, const uint8_t *y, int sy, const uint8_t *u,
               int su, const uint8_t *v, int sv) {
	int w = dst->width, h = dst->height;
	uint8_t **d = dst->data;
	int *ds = dst->linesize;
	if (dst->format == AV_PIX_FMT_YUV420P) {
		if (v) {
			return I420Copy(y, sy, u, su, v, sv, d[0], ds[0], d[1], ds[1], d[2],
			                ds[2], w, h);
		}
		return NV12ToI420(y, sy, u, su, d[0], ds[0], d[1], ds[1], d[2], ds[2],
		                  w, h);
	}
	if (dst->format == AV_PIX_FMT_NV12) {
		if (v) {
			return I420ToNV12(y, sy, u, su, v, sv, d[0], ds[0], d[1], ds[1], w,
			                  h);
		}
		return NV12Copy(y, sy, u, su, d[0], ds[0], d[1], ds[1], w, h);
	}
	return -1;
}

struct onair_sender {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	AVCodecContext *ctx;
	AVFrame *frame;
	int pending, quit, result, efd;
};

static void *sender_main(void *arg) {
	onair_sender *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->pending && !s->quit) {
			pthread_cond_wait(&s->cond, &s->mu);
		}
		if (s->quit) {
			break;
		}
		pthread_mutex_unlock(&s->mu);
		int rc = avcodec_send_frame(s->ctx, s->frame);
		pthread_mutex_lock(&s->mu);
		s->result = rc;
		s->pending = 0;
		pthread_mutex_unlock(&s->mu);
		// Woken after the unlock, the caller does not find the lock still
		// held and sleep on it again. A full counter (2^64-2 unread sends)
		// cannot happen: the caller reads after every send.
		uint64_t one = 1;
		(void)!write(s->efd, &one, sizeof one);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

onair_sender *onair_sender_start(AVCodecContext *ctx, int *efd) {
	onair_sender *s = calloc(1, sizeof *s);
	if (!s) {
		return NULL;
	}
	s->ctx = ctx;
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
		close(s->efd);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cond);
		free(s);
		return NULL;
	}
	*efd = s->efd;
	return s;
}

void onair_sender_submit(onair_sender *s, AVFrame *f) {
	pthread_mutex_lock(&s->mu);
	s->frame = f;
	s->pending = 1;
	pthread_mutex_unlock(&s->mu);
	// Signalled after the unlock, for the same reason as the eventfd.
	pthread_cond_signal(&s->cond);
}

int onair_sender_result(onair_sender *s) {
	pthread_mutex_lock(&s->mu);
	int rc = s->result;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void onair_sender_stop(onair_sender *s) {
	pthread_mutex_lock(&s->mu);
	s->quit = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	free(s);
}

void onair_trim(void) {
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}
