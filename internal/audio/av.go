package audio

// #cgo pkg-config: libavutil
// #include <libavutil/error.h>
import "C"

import "fmt"

// averr is a libav* error code as text, after the operation that failed.
func averr(op string, rc C.int) error {
	var buf [256]C.char
	C.av_strerror(rc, &buf[0], C.size_t(len(buf)))
	return fmt.Errorf("%s: %s", op, C.GoString(&buf[0]))
}
