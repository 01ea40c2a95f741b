#include <stdint.h>
#include <libavformat/avformat.h>

typedef struct onair_pulse_reader onair_pulse_reader;

// onair_pulse_reader_start reads ctx on a thread of its own into a queue
// of packets, each stamped with when it arrived (CLOCK_MONOTONIC, ns), for
// onair_pulse_reader_take. It writes nothing to fd and closes it when it
// ends, so a reader of the pipe's other end learns that it has. NULL: the
// thread did not start (fd is then the caller's).
onair_pulse_reader *onair_pulse_reader_start(AVFormatContext *ctx, int fd);
// onair_pulse_reader_take copies the oldest queued packet into buf (cap
// bytes) and removes it. It returns the packet's size, 0 when none is
// queued, or -size when buf is too small (the packet stays).
int onair_pulse_reader_take(onair_pulse_reader *r, void *buf, int cap, int64_t *arrival_ns);
// onair_pulse_reader_last_arrival is when the newest packet arrived, 0 when
// none has yet.
int64_t onair_pulse_reader_last_arrival(onair_pulse_reader *r);
// onair_pulse_reader_stop asks the thread to end after the packet it waits for.
void onair_pulse_reader_stop(onair_pulse_reader *r);
// onair_pulse_reader_join waits for the thread, frees r and returns why it
// ended (0: asked to stop).
int onair_pulse_reader_join(onair_pulse_reader *r);
// onair_monotonic_ns is CLOCK_MONOTONIC now, the clock of the arrival stamps.
int64_t onair_monotonic_ns(void);
