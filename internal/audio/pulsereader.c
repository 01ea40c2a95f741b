// A thread of its own that waits for PulseAudio and queues each packet,
// stamped with when it arrived. The mixer takes what is queued when it
// wakes to mix, so no Go goroutine wakes for each packet: those wake-ups,
// not the samples, were most of what capture cost.
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libavformat/avformat.h>

#include "pulsereader.h"

// QUEUE_SLOTS packets of 40 ms are 2.5 s: far more than the mixer ever
// leaves queued (it takes them every 64 ms). When it is full the oldest
// packet goes, so a stalled mixer never grows memory.
#define QUEUE_SLOTS 64

struct slot {
	uint8_t *data;
	int size, cap;
	int64_t arrival_ns;
};

struct onair_pulse_reader {
	AVFormatContext *ctx;
	int fd;   // closed when the thread ends
	int stop; // set by another thread: read and written atomically
	int err;  // av_read_frame's error
	pthread_t thread;

	pthread_mutex_t mu; // guards the queue
	struct slot slots[QUEUE_SLOTS];
	int head, count;
	int64_t last_arrival_ns; // 0: nothing has arrived yet
};

int64_t onair_monotonic_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// push queues a copy of data; 0, or AVERROR(ENOMEM).
static int push(struct onair_pulse_reader *r, const uint8_t *data, int size, int64_t arrival_ns) {
	pthread_mutex_lock(&r->mu);
	if (r->count == QUEUE_SLOTS) {
		r->head = (r->head + 1) % QUEUE_SLOTS;
		r->count--;
	}
	struct slot *s = &r->slots[(r->head + r->count) % QUEUE_SLOTS];
	int rc = 0;
	if (s->cap < size) {
		uint8_t *d = realloc(s->data, (size_t)size);
		if (!d) {
			rc = AVERROR(ENOMEM);
		} else {
			s->data = d;
			s->cap = size;
		}
	}
	if (rc == 0) {
		memcpy(s->data, data, (size_t)size);
		s->size = size;
		s->arrival_ns = arrival_ns;
		r->count++;
		r->last_arrival_ns = arrival_ns;
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

static void *reader_main(void *arg) {
	struct onair_pulse_reader *r = arg;
	AVPacket *pkt = av_packet_alloc();
	if (!pkt)
		r->err = AVERROR(ENOMEM);
	while (pkt && !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		int rc = av_read_frame(r->ctx, pkt);
		if (rc < 0) {
			r->err = rc;
			break;
		}
		rc = push(r, pkt->data, pkt->size, onair_monotonic_ns());
		av_packet_unref(pkt);
		if (rc < 0) {
			r->err = rc;
			break;
		}
	}
	av_packet_free(&pkt);
	close(r->fd);
	return NULL;
}

onair_pulse_reader *onair_pulse_reader_start(AVFormatContext *ctx, int fd) {
	onair_pulse_reader *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->ctx = ctx;
	r->fd = fd;
	pthread_mutex_init(&r->mu, NULL);
	if (pthread_create(&r->thread, NULL, reader_main, r) != 0) {
		pthread_mutex_destroy(&r->mu);
		free(r);
		return NULL;
	}
	return r;
}

int onair_pulse_reader_take(onair_pulse_reader *r, void *buf, int cap, int64_t *arrival_ns) {
	pthread_mutex_lock(&r->mu);
	int n = 0;
	if (r->count > 0) {
		struct slot *s = &r->slots[r->head];
		if (s->size > cap) {
			n = -s->size;
		} else {
			memcpy(buf, s->data, (size_t)s->size);
			*arrival_ns = s->arrival_ns;
			n = s->size;
			r->head = (r->head + 1) % QUEUE_SLOTS;
			r->count--;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return n;
}

int64_t onair_pulse_reader_last_arrival(onair_pulse_reader *r) {
	pthread_mutex_lock(&r->mu);
	int64_t t = r->last_arrival_ns;
	pthread_mutex_unlock(&r->mu);
	return t;
}

void onair_pulse_reader_stop(onair_pulse_reader *r) { __atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE); }

int onair_pulse_reader_join(onair_pulse_reader *r) {
	pthread_join(r->thread, NULL);
	int err = r->err;
	for (int i = 0; i < QUEUE_SLOTS; i++)
		free(r->slots[i].data);
	pthread_mutex_destroy(&r->mu);
	free(r);
	return err;
}
