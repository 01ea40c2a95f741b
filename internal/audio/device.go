package audio

import (
	"errors"
	"fmt"
	"sync"
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
// says why, and reconnects by itself. Its own goroutine only connects and
// waits for the stream to end; the samples are moved into the ring by
// Read, on the goroutine that mixes, from the capture thread's queue.
type deviceSource struct {
	spec, device, label, server string
	clock                       Clock
	ring                        *ring

	mu     sync.Mutex
	status Status

	// capMu guards the open stream and what converts its samples; the
	// connecting goroutine sets and clears them, Read drains them.
	capMu   sync.Mutex
	in      *pulseInput
	rs      *resampler
	stamper stamper
	failed  error // a chunk could not be converted: the stream restarts

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
		if err == nil {
			backoff = retryFirst
			err = s.capture(in)
			if s.stopped() {
				return
			}
			s.setStatus(false, fmt.Sprintf("%s: silent: %v; reconnecting", s.label, err))
			continue
		}
		s.setStatus(false, fmt.Sprintf("%s: silent: %v; trying again every %v at most", s.label, err, retryMax))
		if !s.sleep(backoff) {
			return
		}
		backoff = min(2*backoff, retryMax)
	}
}

// capture hands in to Read until in fails or the source is closed, and
// returns why it ended.
func (s *deviceSource) capture(in *pulseInput) error {
	rs, err := newResampler(in.rate, in.ch)
	if err != nil {
		in.close()
		return err
	}
	s.capMu.Lock()
	s.in, s.rs, s.stamper, s.failed = in, rs, stamper{rate: in.rate}, nil
	s.capMu.Unlock()
	s.setStatus(true, "capturing "+s.label)
	select {
	case <-s.stop:
	case <-in.ended:
	}
	s.capMu.Lock()
	if err = s.failed; err == nil {
		err = s.drain()
	}
	s.in, s.rs = nil, nil
	s.capMu.Unlock()
	rs.close()
	if cerr := in.close(); cerr != nil || err == nil {
		err = cerr
	}
	if err == nil {
		err = errors.New("reading from PulseAudio: stopped")
	}
	return err
}

// drain moves what the capture thread has queued into the ring, each chunk
// at its capture-clock time. Called with capMu held.
func (s *deviceSource) drain() error {
	if s.in == nil {
		return nil
	}
	// One reading of both clocks places every queued arrival on the
	// capture clock.
	now, mono := s.clock.Since(), monotonicNow()
	for {
		pcm, arrival, ok := s.in.take()
		if !ok {
			return nil
		}
		pts := s.stamper.stamp(now-(mono-arrival), len(pcm)/s.in.ch)
		out, idx, err := s.rs.convert(pcm, pts)
		if err != nil {
			return err
		}
		s.ring.write(idx, out)
	}
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

// Read takes in what was captured, then reads the ring. A chunk that
// cannot be converted ends the stream, which then reconnects.
func (s *deviceSource) Read(dst []float32, pts time.Duration) {
	s.capMu.Lock()
	if s.in != nil && s.failed == nil {
		if s.failed = s.drain(); s.failed != nil {
			s.in.stopSoon()
		}
	}
	s.capMu.Unlock()
	s.ring.read(dst, SampleAt(pts))
}

func (s *deviceSource) Status() Status {
	s.mu.Lock()
	st := s.status
	s.mu.Unlock()
	if !st.Live {
		return st
	}
	s.capMu.Lock()
	if s.in == nil { // the stream just ended: the next status says why
		s.capMu.Unlock()
		return st
	}
	quiet, heard := s.in.quiet()
	s.capMu.Unlock()
	switch {
	case !heard:
		return Status{Reason: s.label + ": connected, waiting for the first sound"}
	case quiet > stallAfter:
		return Status{Reason: fmt.Sprintf("%s: silent: the audio server sent nothing for %v", s.label, quiet.Round(100*time.Millisecond))}
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
