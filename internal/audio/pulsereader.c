// A thread of its own that waits for PulseAudio and hands each packet over
// a pipe: the Go side then waits in the network poller instead of in a
// blocking cgo call, which keeps Go's scheduler thread waking to take the
// blocked processor back (most of what capture cost).
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libavformat/avformat.h>

#include "pulsereader.h"

struct onair_pulse_reader {
	AVFormatContext *ctx;
	int fd;           // write end of the pipe; closed when the thread ends
	int stop;         // set by another thread: read and written atomically
	int err;          // av_read_frame's error, or a negative errno from write
	pthread_t thread;
};

static int write_all(int fd, const void *p, size_t n) {
	const char *b = p;
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *reader_main(void *arg) {
	struct onair_pulse_reader *r = arg;
	// A closed pipe must fail the write, not kill the process.
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	AVPacket *pkt = av_packet_alloc();
	if (!pkt)
		r->err = AVERROR(ENOMEM);
	while (pkt && !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		int rc = av_read_frame(r->ctx, pkt);
		if (rc < 0) {
			r->err = rc;
			break;
		}
		uint32_t n = (uint32_t)pkt->size;
		rc = write_all(r->fd, &n, sizeof n);
		if (rc == 0)
			rc = write_all(r->fd, pkt->data, n);
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
	if (pthread_create(&r->thread, NULL, reader_main, r) != 0) {
		free(r);
		return NULL;
	}
	return r;
}

void onair_pulse_reader_stop(onair_pulse_reader *r) { __atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE); }

int onair_pulse_reader_join(onair_pulse_reader *r) {
	pthread_join(r->thread, NULL);
	int err = r->err;
	free(r);
	return err;
}
