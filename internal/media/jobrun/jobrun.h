// The media work of a job in one pass through libavformat, libavcodec and
// libswscale: read the input, optionally cut it, and either copy its
// packets (remux) or decode, scale or crop, and encode the video into one
// or more outputs, copying the sound.
#ifndef ONAIR_JOBRUN_H
#define ONAIR_JOBRUN_H

#include <stdint.h>

#define JR_MAX_OUT 8

typedef struct jr_out {
	const char *path;
	int width, height; // 0: copy the video (remux)
	int kbps;          // 0: automatic
	char preset[16];
} jr_out;

typedef struct jr_job {
	const char *in;
	double start, end;  // seconds; end <= 0: to the input's end
	int crop_vertical;  // cut a centred 9:16 picture before scaling
	int threads;        // per codec; 0: as many as the codec likes
	int n;
	jr_out out[JR_MAX_OUT];
	// Shared with the caller while running: cancel is set by it, done_us
	// and total_us are read by it.
	volatile int cancel;
	volatile int64_t done_us;
	volatile int64_t total_us;
	char err[512];
} jr_job;

// jr_probe reads in's header: its duration and picture size.
int jr_probe(const char *in, int64_t *duration_us, int *width, int *height, char *err, int errlen);

// jr_run does job; 0 when done, else err says why (JR_CANCELLED: cancelled).
int jr_run(jr_job *job);

#define JR_CANCELLED 1

// jr_quiet keeps libav* from logging below errors.
void jr_quiet(void);

#endif
