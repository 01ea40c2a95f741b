// Package opuspipe is how the master hands a WHIP destination's AAC to a
// transcoder child (the encoder binary run as "encoder aac-to-opus") and
// gets Opus back, so the master links no codec. Frames go both ways as a
// 4-byte length, an 8-byte PTS in nanoseconds and the payload; the first
// frame to the child is the AudioSpecificConfig.
package opuspipe

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/onair-studio/onair/internal/stream"
)

// Arg is the encoder binary's argument that makes it a transcoder.
const Arg = "aac-to-opus"

// MaxFrame bounds one frame's payload.
const MaxFrame = 64 << 10

// Frame is one AAC frame or Opus packet with its PTS.
type Frame struct {
	Data []byte
	PTS  time.Duration
}

// Write writes one frame.
func Write(w io.Writer, f Frame) error {
	if len(f.Data) > MaxFrame {
		return fmt.Errorf("a frame of %d bytes (at most %d)", len(f.Data), MaxFrame)
	}
	var h [12]byte
	binary.BigEndian.PutUint32(h[:4], uint32(len(f.Data)))
	binary.BigEndian.PutUint64(h[4:], uint64(f.PTS))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(f.Data)
	return err
}

// Read reads one frame; io.EOF at a clean end.
func Read(r io.Reader) (Frame, error) {
	var h [12]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(h[:4])
	if n > MaxFrame {
		return Frame{}, fmt.Errorf("a frame of %d bytes (at most %d)", n, MaxFrame)
	}
	f := Frame{Data: make([]byte, n), PTS: time.Duration(binary.BigEndian.Uint64(h[4:]))}
	if _, err := io.ReadFull(r, f.Data); err != nil {
		return Frame{}, fmt.Errorf("a cut frame: %w", err)
	}
	return f, nil
}

// Transcoder is the codec behind Serve: AAC frames in, Opus packets of
// PacketDuration out.
type Transcoder interface {
	Transcode(aac []byte) ([][]byte, error)
	Close()
}

// PacketDuration is what one Opus packet carries (20 ms).
const PacketDuration = 20 * time.Millisecond

// AACFrameDuration is what one AAC frame at 48 kHz carries.
const AACFrameDuration = stream.AACFrameSamples * time.Second / 48000

// Serve runs the child's side: it reads the AudioSpecificConfig, opens a
// transcoder with open, and answers AAC frames with Opus packets, stamped
// from the first frame's PTS on. A gap in the AAC (more than 100 ms off
// where the next frame was due) restarts the stamps there.
func Serve(in io.Reader, out io.Writer, open func(asc []byte) (Transcoder, error)) error {
	r, w := bufio.NewReader(in), bufio.NewWriter(out)
	cfg, err := Read(r)
	if err != nil {
		return fmt.Errorf("reading the audio config: %w", err)
	}
	t, err := open(cfg.Data)
	if err != nil {
		return err
	}
	defer t.Close()
	var base, due time.Duration
	var sent int64
	started := false
	for {
		f, err := Read(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if off := f.PTS - due; !started || off > 100*time.Millisecond || off < -100*time.Millisecond {
			base, sent, started = f.PTS, 0, true
		}
		due = f.PTS + AACFrameDuration
		pkts, err := t.Transcode(f.Data)
		if err != nil {
			return err
		}
		for _, p := range pkts {
			if err := Write(w, Frame{Data: p, PTS: base + time.Duration(sent)*PacketDuration}); err != nil {
				return err
			}
			sent++
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}
