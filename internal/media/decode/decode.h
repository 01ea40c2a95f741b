// One input read through libavformat (a file, or a device through
// libavdevice) and decoded with libavcodec: pictures come out as RGBA
// through libswscale, sound as 48 kHz interleaved float stereo through
// libswresample.
#ifndef ONAIR_DECODE_H
#define ONAIR_DECODE_H

#include <stdint.h>

typedef struct dec_reader dec_reader;

// dec_open opens url. fmt names an input format ("v4l2"), NULL to probe
// the file; opts is "key=value" pairs separated by '\n' for the input.
// NULL with err filled when it does not open, has no video stream or its
// decoder does not open.
dec_reader *dec_open(const char *url, const char *fmt, const char *opts, char *err, int errlen);

#define DEC_VIDEO 1
#define DEC_AUDIO 2
#define DEC_END 0

// dec_next decodes until one picture or one block of sound is out and
// says which (DEC_VIDEO, DEC_AUDIO), DEC_END at the end of the input, or a
// negative code with err filled.
int dec_next(dec_reader *r, char *err, int errlen);

// The picture dec_next returned: its size, its time in seconds from the
// start of the input and how long it shows (0: unknown).
void dec_video_info(dec_reader *r, int *w, int *h, double *t, double *dur);
// dec_video_rgba converts the picture to RGBA at w×h into dst.
int dec_video_rgba(dec_reader *r, uint8_t *dst, int stride, int w, int h);

// dec_audio_time is the start of the sound dec_next returned, in seconds
// from the start of the input; dec_audio_samples converts it into dst
// (room for cap stereo samples) and returns how many.
double dec_audio_time(dec_reader *r);
int dec_audio_samples(dec_reader *r, float *dst, int cap);
// dec_audio_room is how many stereo samples dec_audio_samples may return.
int dec_audio_room(dec_reader *r);
int dec_has_audio(dec_reader *r);

// dec_rewind goes back to the start of the input (a file's loop).
int dec_rewind(dec_reader *r, char *err, int errlen);

void dec_close(dec_reader *r);

#endif
