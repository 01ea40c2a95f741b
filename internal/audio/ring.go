package audio

import "sync"

// ring keeps a live source's most recent samples by their place on the
// capture clock (sample index), written by the capture goroutine and read
// by the mixer. Places never written, or written too long ago, read as
// silence.
type ring struct {
	mu        sync.Mutex
	buf       []float32 // interleaved stereo, len = 2*size
	validFrom int64     // samples in [validFrom, end) hold sound
	end       int64
	written   bool
}

func newRing(size int) *ring { return &ring{buf: make([]float32, 2*size)} }

func (r *ring) size() int64 { return int64(len(r.buf) / 2) }

// write puts s (interleaved stereo) at sample index at. A gap since the
// last write reads as silence; a jump further than the ring holds starts it
// over.
func (r *ring) write(at int64, s []float32) {
	n := int64(len(s) / 2)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.written || at >= r.end+r.size() || at+n <= r.end-r.size() {
		r.validFrom, r.end, r.written = at, at, true
	}
	for ; r.end < at; r.end++ { // silence in the gap
		i := 2 * mod(r.end, r.size())
		r.buf[i], r.buf[i+1] = 0, 0
	}
	newEnd := max(r.end, at+n)
	for k := max(int64(0), newEnd-r.size()-at); k < n; k++ {
		i := 2 * mod(at+k, r.size())
		r.buf[i], r.buf[i+1] = s[2*k], s[2*k+1]
	}
	r.end = newEnd
	r.validFrom = max(r.validFrom, r.end-r.size())
}

// mod is a % b for b > 0, never negative: sample indices before the
// capture clock's start are negative.
func mod(a, b int64) int64 { return (a%b + b) % b }

// read fills dst with the samples from index at on, silence where the ring
// holds none, and returns how many samples it had.
func (r *ring) read(dst []float32, at int64) (have int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := int64(0); k < int64(len(dst)/2); k++ {
		j := at + k
		if j < r.validFrom || j >= r.end {
			dst[2*k], dst[2*k+1] = 0, 0
			continue
		}
		i := 2 * mod(j, r.size())
		dst[2*k], dst[2*k+1] = r.buf[i], r.buf[i+1]
		have++
	}
	return have
}
