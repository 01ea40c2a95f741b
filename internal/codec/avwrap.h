// Small C helpers for the parts of libavcodec/libavutil that cgo cannot
// reach directly: variadic log callbacks, function-like error macros, and
// plane copies that must not keep Go pointers.
#ifndef ONAIR_AVWRAP_H
#define ONAIR_AVWRAP_H

#include <stdint.h>
#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>

enum {
	ONAIR_EAGAIN = AVERROR(EAGAIN),
	ONAIR_EOF = AVERROR_EOF,
};

// onair_log_init routes libav* logging through OnAir: errors go to stderr
// as before, chatter is dropped, and messages on a capturing thread are kept
// so a refused backend can say why.
void onair_log_init(void);

// onair_capture_begin starts keeping log messages logged on this thread.
void onair_capture_begin(void);

// onair_capture_end stops keeping messages on this thread and returns them:
// the error lines if there were any, otherwise the informational ones.
// The string stays valid until the next onair_capture_begin on this thread.
const char *onair_capture_end(void);

// onair_fill copies a caller's I420 (v != NULL) or NV12 (v == NULL) planes
// into dst, which is AV_PIX_FMT_YUV420P or AV_PIX_FMT_NV12, converting the
// chroma layout when the two differ. dst must be writable.
int onair_fill(AVFrame *dst, const uint8_t *y, int sy, const uint8_t *u,
               int su, const uint8_t *v, int sv);

#endif
