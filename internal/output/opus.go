package output

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"time"

	"github.com/onair-studio/onair/internal/opuspipe"
)

// opusTranscoder turns a WHIP destination's AAC into Opus in a child
// process (opuspipe), so the master links no codec and a codec crash costs
// only this destination's sound.
type opusTranscoder struct {
	asc  []byte
	cmd  *exec.Cmd
	in   chan opusPacket // to the child; full: the frame is dropped
	out  chan opusPacket // from the child
	done chan struct{}
}

type opusPacket = opuspipe.Frame

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
	t.in <- opusPacket{Data: asc}
	go func() {
		w := bufio.NewWriter(stdin)
		for p := range t.in {
			if opuspipe.Write(w, p) != nil || w.Flush() != nil {
				break
			}
		}
		stdin.Close()
	}()
	go func() {
		defer close(t.done)
		r := bufio.NewReader(stdout)
		for {
			p, err := opuspipe.Read(r)
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
	case t.in <- opusPacket{Data: aac, PTS: pts}:
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
