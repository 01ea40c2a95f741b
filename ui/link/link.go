// Package link keeps the GUI attached to a master's Control API: it dials,
// follows WatchEvents, and when the stream ends (the master restarted, the
// network went away) dials again with backoff, finding the master anew each
// time. It knows nothing of widgets; the GUI hands it a Handler.
package link

import (
	"context"
	"time"

	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/stub/pb"
)

// Target is how to reach a master.
type Target struct {
	Addr        string
	Token       string
	Fingerprint string
}

// Resolver says where the master is now. On this machine it re-reads the
// endpoint file, so a master restarted on another port is still found.
type Resolver func() (Target, error)

// Fixed always returns t: an attached master keeps its address.
func Fixed(t Target) Resolver { return func() (Target, error) { return t, nil } }

// Handler receives what happens, on the link's goroutine.
type Handler struct {
	// Connected: the event stream is up. again is false the first time.
	Connected func(c pb.ControlClient, addr string, again bool)
	// Disconnected: the stream ended or could not start; the next attempt
	// is in retryIn.
	Disconnected func(err error, retryIn time.Duration, attempt int)
	// Event is every event, in order.
	Event func(*pb.Event)
}

// Backoff is the wait between attempts: First, doubling up to Max.
type Backoff struct{ First, Max time.Duration }

// DefaultBackoff retries quickly at first, so a restarted master is found
// within a fraction of a second, and then every few seconds.
var DefaultBackoff = Backoff{First: 200 * time.Millisecond, Max: 3 * time.Second}

func (b Backoff) wait(attempt int) time.Duration {
	d := b.First
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Run follows the master until ctx ends.
func Run(ctx context.Context, resolve Resolver, h Handler, b Backoff) {
	connected, attempt := false, 0
	for {
		up, err := follow(ctx, resolve, h, connected)
		if up {
			connected, attempt = true, 0
		}
		if ctx.Err() != nil {
			return
		}
		attempt++
		wait := b.wait(attempt)
		h.Disconnected(err, wait, attempt)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// follow runs one connection: it reports whether the stream came up, and
// why it ended.
func follow(ctx context.Context, resolve Resolver, h Handler, again bool) (bool, error) {
	t, err := resolve()
	if err != nil {
		return false, err
	}
	c, conn, err := control.Dial(t.Addr, t.Token, t.Fingerprint)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.WatchEvents(ctx, &pb.WatchRequest{})
	if err != nil {
		return false, err
	}
	ev, err := stream.Recv()
	if err != nil {
		return false, err
	}
	h.Connected(c, t.Addr, again)
	for {
		h.Event(ev)
		if ev, err = stream.Recv(); err != nil {
			return true, err
		}
	}
}
