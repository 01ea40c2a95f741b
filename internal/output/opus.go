package output

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os/exec"
	"time"
)

// opusTranscoder turns a WHIP destination's AAC into Opus in a child
// process (the encoder binary's aac-to-opus mode), so the master links no
// codec and a codec crash costs only this destination's sound. Frames go
// both ways as: 4-byte length, 8-byte PTS in ns, payload; the first frame
// to the child is the AudioSpecificConfig.
type opusTranscoder struct {
	asc  []byte
	cmd  *exec.Cmd
	in   chan opusPacket // to the child; full: the frame is dropped
	out  chan opusPacket // from the child
	done chan struct{}
}

type opusPacket struct {
	data []byte
	pts  time.Duration
}

// maxOpusFrame bounds one frame read from the transcoder.
const maxOpusFrame = 64 << 10

func newOpusTranscoder(asc []byte, command func() *exec.Cmd, log *slog.Logger) (*opusTranscoder, error) {
	if command == nil {
		return nil, errors.New("no Opus transcoder configured")
	}
	t := &opusTranscoder{asc: asc, cmd: command(), in: make(chan opusPacket, 64), out: make(chan opusPacket, 64), done: make(chan struct{})}
	stdin, err := t.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := t.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := t.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the Opus transcoder: %w", err)
	}
	t.in <- opusPacket{data: asc}
	go func() {
		w := bufio.NewWriter(stdin)
		for p := range t.in {
			if writeOpusFrame(w, p) != nil || w.Flush() != nil {
				break
			}
		}
		stdin.Close()
	}()
	go func() {
		defer close(t.done)
		r := bufio.NewReader(stdout)
		for {
			p, err := readOpusFrame(r)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					log.Warn("whip output: the Opus transcoder stopped", "err", err)
				}
				return
			}
			select {
			case t.out <- p:
			default: // the sender is not taking them: drop
			}
		}
	}()
	return t, nil
}

// Transcode hands over one AAC frame and returns the Opus packets ready
// since the last call; sound runs about one frame behind.
func (t *opusTranscoder) Transcode(aac []byte, pts time.Duration) []opusPacket {
	select {
	case t.in <- opusPacket{data: aac, pts: pts}:
	default:
	}
	var ready []opusPacket
	for {
		select {
		case p := <-t.out:
			ready = append(ready, p)
		default:
			return ready
		}
	}
}

// Close ends the child and waits for it.
func (t *opusTranscoder) Close() {
	close(t.in)
	select {
	case <-t.done:
	case <-time.After(time.Second):
		t.cmd.Process.Kill()
		<-t.done
	}
	t.cmd.Wait()
}

func writeOpusFrame(w io.Writer, p opusPacket) error {
	var h [12]byte
	binary.BigEndian.PutUint32(h[:4], uint32(len(p.data)))
	binary.BigEndian.PutUint64(h[4:], uint64(p.pts))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(p.data)
	return err
}

func readOpusFrame(r io.Reader) (opusPacket, error) {
	var h [12]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return opusPacket{}, err
	}
	n := binary.BigEndian.Uint32(h[:4])
	if n > maxOpusFrame {
		return opusPacket{}, fmt.Errorf("a frame of %d bytes (at most %d)", n, maxOpusFrame)
	}
	p := opusPacket{data: make([]byte, n), pts: time.Duration(binary.BigEndian.Uint64(h[4:]))}
	_, err := io.ReadFull(r, p.data)
	return p, err
}

func randomUint32() uint32 { return rand.Uint32() }
