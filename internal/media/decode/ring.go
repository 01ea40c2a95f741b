package decode

import (
	"sync"
	"time"
)

const sampleRate = 48000

// sampleAt is the sample playing at time d on the input's timeline.
func sampleAt(d time.Duration) int64 {
	return int64((d*sampleRate + time.Second/2) / time.Second)
}

// ringSeconds of sound are kept: the mixer works a few hundred
// milliseconds behind the picture, and a file's sound may be stored ahead
// of its pictures.
const ringSeconds = 4

// ring holds the latest ringSeconds of decoded sound by sample number.
type ring struct {
	mu      sync.Mutex
	buf     []float32 // interleaved stereo, sample n at 2*(n % size)
	lo, hi  int64     // the samples held: lo up to hi
	written bool
}

func (r *ring) init() { r.buf = make([]float32, 2*ringSeconds*sampleRate) }

func (r *ring) size() int64 { return int64(len(r.buf) / 2) }

// write stores samples from sample n on.
func (r *ring) write(n int64, samples []float32) {
	if n < 0 {
		// Before the timeline's start (a malformed file's timestamps):
		// never read, and no place in the ring.
		skip := min(-n, int64(len(samples)/2))
		samples, n = samples[2*skip:], n+skip
	}
	count := int64(len(samples) / 2)
	if count == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.written || n > r.hi || n+count < r.lo {
		r.lo = n // a jump: what lies between was never decoded
	}
	r.written = true
	for i := int64(0); i < count; i++ {
		j := 2 * ((n + i) % r.size())
		r.buf[j], r.buf[j+1] = samples[2*i], samples[2*i+1]
	}
	r.hi = max(r.hi, n+count)
	r.lo = max(r.lo, r.hi-r.size())
}

// read fills dst from sample n on, silence where nothing is held, and
// reports whether any was.
func (r *ring) read(dst []float32, n int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	had := false
	for i := int64(0); i < int64(len(dst)/2); i++ {
		s := n + i
		if s < r.lo || s >= r.hi || s < 0 {
			dst[2*i], dst[2*i+1] = 0, 0
			continue
		}
		j := 2 * (s % r.size())
		dst[2*i], dst[2*i+1] = r.buf[j], r.buf[j+1]
		had = true
	}
	return had
}
