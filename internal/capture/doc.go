// Package capture provides OnAir's video sources: a moving test pattern, X11
// screen, region and window capture, still images and solid colours.
//
// # Frame type
//
// Every source draws into a caller-owned *image.RGBA: bytes R,G,B,A in memory,
// alpha premultiplied (the standard library's convention), which the codec
// package converts with libyuv's "ABGR" routines (codec.Frame.FromRGBA). One
// frame type runs through capture, composition, snapshots and conversion, so
// the standard image/draw, image/png and image/jpeg code applies everywhere.
// X11 delivers B,G,R,X; the screen source swaps to R,G,B,A while copying out
// of its shared-memory segment, a copy it has to make anyway because the
// segment is reused for the next capture.
//
// Sources never allocate a frame per call: they fill the buffer they are
// given, scaling to its size when it differs from their own.
//
// # Source strings
//
// A source is named by a short string, used in configuration and flags (see
// source.Parse for the full grammar):
//
//	pattern                    moving test pattern with frame counter and clock
//	screen                     the whole X screen (every monitor)
//	screen:1                   monitor 1 (0 is the primary)
//	screen:0:100,100,640x360   a region of monitor 0, relative to its corner
//	window:Firefox             the rectangle of the window titled "Firefox"
//	window:0x1a00003           the rectangle of window 0x1a00003
//	image:/srv/logo.png        a PNG or JPEG file
//	color:#ff8800              a solid colour; #rrggbbaa adds opacity
package capture
