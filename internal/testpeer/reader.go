package testpeer

import (
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Frame is one picture an RTMP reader decoded.
type Frame struct {
	N             int
	PTS           time.Duration // stream timestamp with CopyTS, else from 0
	Key           bool
	Type          string // I, P or B
	Width, Height int
	At            time.Time // when the reader reported it
}

// ReaderOptions tune the ffmpeg reader.
type ReaderOptions struct {
	// RWTimeout ends the reader when no data comes for this long (5 s).
	RWTimeout time.Duration
	// CopyTS keeps the stream's own timestamps instead of starting at 0.
	CopyTS bool
	// Format names the input's container when the URL does not say it
	// (mpegts for an SRT listener).
	Format string
}

// Reader is ffmpeg playing a URL (RTMP, or an SRT listener) and reporting
// every decoded frame.
type Reader struct {
	*Proc
	Started time.Time
	tbNum   int64 // showinfo's time base, from its config line
	tbDen   int64
	mu      sync.Mutex
	frames  []Frame
	changed chan struct{}
}

var (
	showinfo = regexp.MustCompile(`\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:(\S+).*\bs:(\d+)x(\d+).*\biskey:(\d).*\btype:(\w)`)
	timeBase = regexp.MustCompile(`config in time_base: (\d+)/(\d+)`)
)

// StartReader plays url with ffmpeg, decoding every frame (showinfo). It
// starts at the stream's first packet (probeBytes), which must be the
// picture's: the nginx of StartNginx sends a joining player nothing before
// a keyframe (wait_video). It decodes on one thread so frames are reported
// as they arrive.
func StartReader(t testing.TB, url string, opts ReaderOptions) *Reader {
	t.Helper()
	Need(t, "ffmpeg")
	if opts.RWTimeout == 0 {
		opts.RWTimeout = 5 * time.Second
	}
	r := &Reader{Started: time.Now(), changed: make(chan struct{}, 1)}
	args := []string{"-hide_banner", "-nostats", "-nostdin", "-loglevel", "info", "-probesize", probeBytes, "-analyzeduration", "0"}
	args = append(args, "-threads", "1", "-rw_timeout", strconv.FormatInt(opts.RWTimeout.Microseconds(), 10))
	if opts.CopyTS {
		args = append(args, "-copyts")
	}
	if opts.Format != "" {
		args = append(args, "-f", opts.Format)
	}
	args = append(args, "-i", url, "-an", "-vf", "showinfo", "-f", "null", "-")
	r.Proc = start(t, r.line, "ffmpeg", args...)
	return r
}

// probeBytes is how much of a live stream ffmpeg reads before it starts:
// the first packet. An FLV stream is found only by its first packet, so a
// reader that must see the picture reads a server that sends it first.
const probeBytes = "32"

func (r *Reader) line(s string) {
	if m := timeBase.FindStringSubmatch(s); m != nil {
		r.tbNum, _ = strconv.ParseInt(m[1], 10, 64)
		r.tbDen, _ = strconv.ParseInt(m[2], 10, 64)
		return
	}
	m := showinfo.FindStringSubmatch(s)
	if m == nil {
		return
	}
	f := Frame{Type: m[7], Key: m[6] == "1", At: time.Now()}
	f.N, _ = strconv.Atoi(m[1])
	f.PTS = seconds(m[3]) // pts_time has only six significant digits
	if pts, err := strconv.ParseInt(m[2], 10, 64); err == nil && r.tbDen > 0 {
		f.PTS = time.Duration(pts * r.tbNum * int64(time.Second) / r.tbDen)
	}
	f.Width, _ = strconv.Atoi(m[4])
	f.Height, _ = strconv.Atoi(m[5])
	r.mu.Lock()
	r.frames = append(r.frames, f)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// Frames returns the frames decoded so far.
func (r *Reader) Frames() []Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Frame(nil), r.frames...)
}

// Count is the number of frames decoded so far.
func (r *Reader) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

// WaitFrames waits until n frames were decoded, the reader exited, no frame
// came for idle after the first one, or timeout passed; it returns the frames.
func (r *Reader) WaitFrames(n int, idle, timeout time.Duration) []Frame {
	deadline := time.After(timeout)
	for {
		count := r.Count()
		if count >= n {
			return r.Frames()
		}
		var idleC <-chan time.Time
		if count > 0 {
			idleC = time.After(idle)
		}
		select {
		case <-r.changed:
		case <-idleC:
			return r.Frames()
		case <-r.Done():
			return r.Frames()
		case <-deadline:
			return r.Frames()
		}
	}
}
