package audio

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// A live device's timings.
const (
	// ringLength is how much captured sound a device keeps: the mixer's
	// latency plus the longest sync offset, with room to spare.
	ringLength = 3 * time.Second
	// A lost device is tried again after retryFirst, doubling up to
	// retryMax, so it is back within retryMax of returning.
	retryFirst = 250 * time.Millisecond
	retryMax   = 2 * time.Second
	// stallAfter without a sample from a connected device counts as silent.
	stallAfter = time.Second
	// closeWait bounds Close: a read returns within a fragment while the
	// server lives; one that hangs in a frozen server is left to end by
	// itself.
	closeWait = time.Second
)

// deviceSource captures a PulseAudio source into a ring on the capture
// clock. When the server dies or the device goes away it plays silence,
// says why, and reconnects by itself.
type deviceSource struct {
	spec, device, label, server string
	clock                       Clock
	ring                        *ring

	mu        sync.Mutex
	status    Status
	lastWrite atomic.Int64 // UnixNano of the last chunk captured

	stop chan struct{}
	done chan struct{}
}

// newDeviceSource starts capturing device (see openPulse), named spec for
// the mixer and label for people.
func newDeviceSource(spec, device, label, server string, clock Clock) *deviceSource {
	s := &deviceSource{
		spec: spec, device: device, label: label, server: server, clock: clock,
		ring:   newRing(int(SampleAt(ringLength))),
		status: Status{Reason: label + ": connecting"},
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go s.run()
	return s
}

func (s *deviceSource) run() {
	defer close(s.done)
	backoff := retryFirst
	for {
		in, err := openPulse(s.server, s.device)
		if err != nil {
			s.setStatus(false, fmt.Sprintf("%s: silent: %v; trying again every %v at most", s.label, err, retryMax))
			if !s.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, retryMax)
			continue
		}
		backoff = retryFirst
		err = s.capture(in)
		in.close()
		if s.stopped() {
			return
		}
		s.setStatus(false, fmt.Sprintf("%s: silent: %v; reconnecting", s.label, err))
	}
}

// capture moves samples from in into the ring until in fails or the source
// is closed.
func (s *deviceSource) capture(in *pulseInput) error {
	rs, err := newResampler(in.rate, in.ch)
	if err != nil {
		return err
	}
	defer rs.close()
	s.setStatus(true, "capturing "+s.label)
	st := stamper{rate: in.rate}
	for !s.stopped() {
		pcm, err := in.read()
		if err != nil {
			return err
		}
		pts := st.stamp(s.clock.Since(), len(pcm)/in.ch)
		out, idx, err := rs.convert(pcm, pts)
		if err != nil {
			return err
		}
		s.ring.write(idx, out)
		s.lastWrite.Store(time.Now().UnixNano())
	}
	return nil
}

func (s *deviceSource) setStatus(live bool, reason string) {
	s.mu.Lock()
	s.status = Status{Live: live, Reason: reason}
	s.mu.Unlock()
}

func (s *deviceSource) stopped() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// sleep waits d, or returns false when the source is closed first.
func (s *deviceSource) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.stop:
		return false
	case <-t.C:
		return true
	}
}

func (s *deviceSource) Read(dst []float32, pts time.Duration) { s.ring.read(dst, SampleAt(pts)) }

func (s *deviceSource) Status() Status {
	s.mu.Lock()
	st := s.status
	s.mu.Unlock()
	if st.Live {
		if quiet := time.Since(time.Unix(0, s.lastWrite.Load())); quiet > stallAfter {
			return Status{Reason: fmt.Sprintf("%s: silent: the audio server sent nothing for %v", s.label, quiet.Round(100*time.Millisecond))}
		}
	}
	return st
}

func (s *deviceSource) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	select {
	case <-s.done:
	case <-time.After(closeWait):
	}
	return nil
}

func (s *deviceSource) String() string { return s.spec }
