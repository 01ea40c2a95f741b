package testpeer

import (
	"context"
	"io"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Picture is one frame a PixelReader decoded, scaled down, as RGB24.
type Picture struct {
	At  time.Time // when it arrived
	RGB []byte
}

// PixelReader is ffmpeg playing a URL and handing over every decoded frame's
// pixels, scaled to W×H, so a test can see what viewers see.
type PixelReader struct {
	*Proc
	W, H int

	mu       sync.Mutex
	pictures []Picture
}

// StartPixelReader plays url with ffmpeg (giving up after 5 s without data)
// and collects each decoded frame at w×h. It is stopped when the test ends.
func StartPixelReader(t testing.TB, url string, w, h int) *PixelReader {
	t.Helper()
	Need(t, "ffmpeg")
	r := &PixelReader{W: w, H: h}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proc{cancel: cancel, done: make(chan struct{})}
	// Every decoded frame once, as it comes: no frame rate conversion.
	p.cmd = exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostats", "-nostdin", "-loglevel", "warning",
		"-probesize", probeBytes, "-analyzeduration", "0", "-threads", "1", "-rw_timeout", "5000000",
		"-i", url, "-an", "-vf", "scale="+strconv.Itoa(w)+":"+strconv.Itoa(h), "-fps_mode", "passthrough",
		"-pix_fmt", "rgb24", "-f", "rawvideo", "-")
	p.cmd.WaitDelay = 2 * time.Second
	p.cmd.Stderr = &p.out
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start ffmpeg: %v", err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		for {
			pic := make([]byte, 3*w*h)
			if _, err := io.ReadFull(stdout, pic); err != nil {
				return
			}
			r.mu.Lock()
			r.pictures = append(r.pictures, Picture{At: time.Now(), RGB: pic})
			r.mu.Unlock()
		}
	}()
	go func() {
		<-read // all output read before Wait closes the pipe
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.Stop)
	r.Proc = p
	return r
}

// Pictures returns the frames decoded so far.
func (r *PixelReader) Pictures() []Picture {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Picture(nil), r.pictures...)
}

// Count is the number of frames decoded so far.
func (r *PixelReader) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pictures)
}

// At is the colour of pixel (x, y) of a picture.
func (r *PixelReader) At(p Picture, x, y int) (red, green, blue uint8) {
	i := 3 * (y*r.W + x)
	return p.RGB[i], p.RGB[i+1], p.RGB[i+2]
}
