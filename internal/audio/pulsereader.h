#include <libavformat/avformat.h>

typedef struct onair_pulse_reader onair_pulse_reader;

// onair_pulse_reader_start reads ctx on a thread of its own, writing each
// packet to fd as a native-endian uint32 length and the bytes; it closes fd
// when it ends. NULL: the thread did not start (fd is then the caller's).
onair_pulse_reader *onair_pulse_reader_start(AVFormatContext *ctx, int fd);
// onair_pulse_reader_stop asks the thread to end after the packet it waits for.
void onair_pulse_reader_stop(onair_pulse_reader *r);
// onair_pulse_reader_join waits for the thread, frees r and returns why it
// ended (0: asked to stop).
int onair_pulse_reader_join(onair_pulse_reader *r);
