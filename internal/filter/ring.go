// Package filter moves frames between the encoder and a filter plugin's
// process through shared memory, and keeps a filter from ever holding up,
// corrupting or ending the stream.
//
// The ring is a sealed memfd the encoder creates and sizes itself: a plugin
// can neither shrink it (which would fault the encoder) nor choose its size
// beyond asking for a few slots of the frame the encoder offers. Each slot is
// a 64-byte header (the encoder's sequence number, the plugin's done number),
// the frame's pixels and a 64-byte guard the encoder fills with a known
// pattern.
//
// The pluginhost brokers the setup: it tells the plugin which unix socket to
// listen on; the encoder connects to it, offers the frame, receives the
// plugin's wishes, and passes the memfd over the socket (SCM_RIGHTS). From
// then on each frame costs one 16-byte message each way on that socket
// (SOCK_SEQPACKET, so a message is never split) and no copy through any
// third process. A socket was chosen over polling shared memory because the
// plugin sleeps in the kernel while it waits, and the encoder's wait has a
// real deadline (the socket's) without spinning a core of a two-core machine.
//
// The encoder puts a frame into a free slot (sequence odd while it writes,
// then even), sends the slot and sequence number, and reads the reply on
// the same goroutine, up to the deadline. It takes the result only when the
// reply came in time, the plugin's done number and the slot's sequence are
// the frame's (a seqlock: a half-written slot is never read), the guard is
// intact and the reported size is the frame's. Anything else bypasses the
// filter for that frame: the unfiltered pixels go on air.
//
// The program's frame travels with no copy at all (see Client.Lend): the
// compositor draws it straight into the slot and the encoder converts the
// result where the plugin left it; the slot stays lent, and the ring
// mapped, until the next frame gives it back. A layer's or a sound
// block's frame is copied in and out (Apply).
package filter

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"unsafe"
)

// Frame formats a filter may declare. A sound block travels as a frame
// too: Width is its samples per channel, Height its channels.
const (
	FormatRGBA = "rgba" // premultiplied R,G,B,A bytes, row-major, no padding
	FormatI420 = "i420" // Y plane, then U and V at half size each way
	FormatF32  = "f32"  // interleaved float32 samples, native byte order
)

// MaxChannels bounds a sound block's channels.
const MaxChannels = 8

// Limits a ring must keep, checked on both sides at setup.
const (
	MaxSide      = 8192      // pixels, each way
	MaxSlots     = 8         // frames in flight
	MaxRingBytes = 512 << 20 // the whole ring
	headerBytes  = 64
	guardBytes   = 64
)

// guardByte fills every slot's guard: a plugin that writes past its frame
// changes it and the frame is bypassed.
const guardByte = 0xA5

// Layout is a ring's geometry.
type Layout struct {
	Format        string
	Width, Height int
	Slots         int
}

// FrameBytes is one frame's size in the format (RGBA and F32 both take
// four bytes a unit).
func (l Layout) FrameBytes() int {
	if l.Format == FormatI420 {
		cw, ch := (l.Width+1)/2, (l.Height+1)/2
		return l.Width*l.Height + 2*cw*ch
	}
	return l.Width * l.Height * 4
}

// slotStride is a slot's size, rounded up to 64 bytes.
func (l Layout) slotStride() int {
	return (headerBytes + l.FrameBytes() + guardBytes + 63) &^ 63
}

// Size is the ring's size in bytes.
func (l Layout) Size() int { return l.Slots * l.slotStride() }

// Check refuses a layout no ring should have: an unknown format, a frame
// or ring too large, or an absurd number of slots.
func (l Layout) Check() error {
	switch {
	case l.Format != FormatRGBA && l.Format != FormatI420 && l.Format != FormatF32:
		return fmt.Errorf("format %q is not %s, %s or %s", l.Format, FormatRGBA, FormatI420, FormatF32)
	case l.Format == FormatF32 && (l.Height < 1 || l.Height > MaxChannels):
		return fmt.Errorf("a sound block of %d channels is not within 1..%d", l.Height, MaxChannels)
	case l.Width <= 0 || l.Height <= 0 || l.Width > MaxSide || l.Height > MaxSide:
		return fmt.Errorf("frame %dx%d is not within 1..%d pixels each way", l.Width, l.Height, MaxSide)
	case l.Slots < 1 || l.Slots > MaxSlots:
		return fmt.Errorf("a ring of %d slots is not within 1..%d", l.Slots, MaxSlots)
	case l.Size() > MaxRingBytes:
		return fmt.Errorf("a ring of %d slots of %dx%d is %d MiB, more than %d MiB", l.Slots, l.Width, l.Height,
			l.Size()>>20, MaxRingBytes>>20)
	}
	return nil
}

// slot is one slot's parts within the mapped ring.
type slot struct {
	header, pixels, guard []byte
}

func (l Layout) slot(mem []byte, i int) slot {
	off := i * l.slotStride()
	fb := l.FrameBytes()
	return slot{
		header: mem[off : off+headerBytes],
		pixels: mem[off+headerBytes : off+headerBytes+fb],
		guard:  mem[off+headerBytes+fb : off+headerBytes+fb+guardBytes],
	}
}

// The header's words, atomic so that the other process sees them in order
// with the pixels: the encoder writes seq, the plugin done. The header is
// 64-byte aligned in page-aligned memory.
func (s slot) word(i int) *uint64 { return (*uint64)(unsafe.Pointer(&s.header[8*i])) }
func (s slot) seq() uint64        { return atomic.LoadUint64(s.word(0)) }
func (s slot) setSeq(v uint64)    { atomic.StoreUint64(s.word(0), v) }
func (s slot) done() uint64       { return atomic.LoadUint64(s.word(1)) }
func (s slot) setDone(v uint64)   { atomic.StoreUint64(s.word(1), v) }

func (s slot) guardIntact() bool {
	for _, b := range s.guard {
		if b != guardByte {
			return false
		}
	}
	return true
}

// SocketPath is where filter instance name listens in dir: the pluginhost
// tells the plugin, the master tells the encoder.
func SocketPath(dir, name string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, strings.ReplaceAll(name, "/", "_")+".sock")
}
