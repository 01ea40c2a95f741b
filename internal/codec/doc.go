// Package codec turns composed RGB frames into an H.264 elementary stream.
//
// Colour conversion (BGRA or RGBA to I420 or NV12) goes through libyuv, and
// encoding through libavcodec, both with cgo. Open picks a backend: a named
// one, or with "auto" the first of h264_nvenc, h264_vaapi, h264_qsv and
// libx264 that both opens and encodes a test frame. Probe reports, for each
// backend, whether it works here and if not why.
//
// Every access unit the Encoder returns is Annex-B and carries the frame's
// capture time in an SEI message (see CaptureTimeUUID), so any point
// downstream can measure glass-to-glass latency with ParseCaptureTime.
//
// Colours are BT.601 limited range (the matrix libyuv's ARGB converters use),
// and the stream's VUI says so.
//
// Licence note: linking libx264 (directly, or through a libavcodec built with
// --enable-gpl, as Debian's is) puts the binary that contains this package
// under the GNU GPL. The rest of OnAir stays separable: only the encoder
// process links this package.
package codec
