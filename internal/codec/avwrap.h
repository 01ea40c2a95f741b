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

// onair_trim hands the C heap's free memory back to the system (glibc's
// malloc_trim; nothing elsewhere).
void onair_trim(void);

// onair_fill copies a caller's I420 (v != NULL) or NV12 (v == NULL) planes
// into dst, which is AV_PIX_FMT_YUV420P or AV_PIX_FMT_NV12, converting the
// chroma layout when the two differ. dst must be writable.
int onair_fill(AVFrame *dst, const uint8_t *y, int sy, const uint8_t *u,
               int su, const uint8_t *v, int sv);

// onair_sender runs avcodec_send_frame on a thread of its own. An encode
// takes milliseconds; made from a goroutine, such a cgo call holds a Go
// processor in a system call, and Go's monitor then takes it away and wakes
// other threads to cover for it, frame after frame. With the sender the
// goroutine waits parked on an eventfd instead.
typedef struct onair_sender onair_sender;

// onair_sender_start starts a sender for ctx; *efd is the eventfd (made
// non-blocking) that counts finished sends; the caller owns it. NULL on
// failure.
onair_sender *onair_sender_start(AVCodecContext *ctx, int *efd);

// onair_sender_submit hands the sender one frame (NULL: end of stream).
// The caller waits for the eventfd before the next call.
void onair_sender_submit(onair_sender *s, AVFrame *f);

// onair_sender_result is what the last avcodec_send_frame returned.
int onair_sender_result(onair_sender *s);

// onair_sender_stop ends the thread and frees the sender (not the eventfd).
void onair_sender_stop(onair_sender *s);

#endif
