package master

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/stub/pb"
)

// overlayRelay carries plugin overlays from the pluginhost to the encoder's
// compositor. One goroutine sends everything to the encoder, in order, so an
// update can never be overtaken by an older copy; it works apart from the
// video, which never waits for an overlay.
type overlayRelay struct {
	log     *slog.Logger
	encoder func() (pb.EncoderClient, bool)
	plugins func() (pb.PluginHostClient, bool)
	size    func() (w, h int32)

	msgs   chan *pb.Overlay // nil: the pluginhost's stream ended
	resync chan struct{}    // a new encoder needs every overlay again
}

func newOverlayRelay(log *slog.Logger, enc func() (pb.EncoderClient, bool), ph func() (pb.PluginHostClient, bool), size func() (int32, int32)) *overlayRelay {
	return &overlayRelay{log: log, encoder: enc, plugins: ph, size: size,
		msgs: make(chan *pb.Overlay), resync: make(chan struct{}, 1)}
}

// encoderRestarted asks for every overlay to be sent again.
func (r *overlayRelay) encoderRestarted() {
	select {
	case r.resync <- struct{}{}:
	default:
	}
}

// overlayRetry is how often overlays the encoder could not take are sent
// again.
const overlayRetry = 100 * time.Millisecond

func (r *overlayRelay) run(ctx context.Context) {
	go r.watch(ctx)
	cache := map[string]*pb.Overlay{}
	// removed: removals the encoder has not taken yet, so an overlay whose
	// plugin took it away does not stay on air.
	removed := map[string]bool{}
	// pending: the encoder may lack overlays or removals (it restarted, or
	// a send failed); everything goes again as soon as it runs.
	pending := false
	// The retry ticks only while something waits to go again: an idle
	// master is not woken ten times a second for nothing.
	retry, ticking := time.NewTicker(overlayRetry), true
	defer retry.Stop()
	remove := func(id string) {
		if r.send(ctx, &pb.Overlay{Id: id, Removed: true}) == retryLater {
			removed[id], pending = true, true
		} else {
			delete(removed, id)
		}
	}
	// set sends an overlay and keeps it for resending. One the encoder
	// refuses as malformed is dropped, keeping the last good one: sent
	// again it would be refused again, and hold up the others.
	set := func(o *pb.Overlay, last *pb.Overlay) {
		switch r.send(ctx, o) {
		case retryLater:
			pending = true
		case refused:
			if last != nil {
				cache[o.GetId()] = last
			} else {
				delete(cache, o.GetId())
			}
		}
	}
	sendAll := func() {
		pending = false
		for id := range removed {
			if remove(id); pending {
				return
			}
		}
		for _, o := range cache {
			if set(o, nil); pending {
				return
			}
		}
	}
	for {
		if pending != ticking {
			if ticking = pending; ticking {
				retry.Reset(overlayRetry)
			} else {
				retry.Stop()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.resync:
			sendAll()
		case <-retry.C:
			if pending {
				sendAll()
			}
		case o := <-r.msgs:
			if o == nil {
				// The pluginhost is gone: its overlays go with it until the
				// new one sends them again.
				for id := range cache {
					remove(id)
				}
				clear(cache)
				continue
			}
			if o.GetRemoved() {
				delete(cache, o.GetId())
				remove(o.GetId())
				continue
			}
			last := cache[o.GetId()]
			cache[o.GetId()] = o
			delete(removed, o.GetId())
			set(o, last)
		}
	}
}

// delivery is what became of one overlay message.
type delivery int

const (
	delivered  delivery = iota
	retryLater          // the encoder is not running, restarting or busy
	refused             // the encoder judged the overlay malformed
)

// send delivers one overlay message.
func (r *overlayRelay) send(ctx context.Context, o *pb.Overlay) delivery {
	c, ok := r.encoder()
	if !ok {
		return retryLater
	}
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := c.SetOverlay(sctx, o)
	switch {
	case err == nil:
		return delivered
	case status.Code(err) == codes.InvalidArgument:
		r.log.Warn("the encoder refused a malformed overlay; the plugin's last good one stays",
			"id", o.GetId(), "err", status.Convert(err).Message())
		return refused
	default:
		r.log.Warn("overlay not delivered to the encoder; it will be sent again", "id", o.GetId(), "err", err)
		return retryLater
	}
}

// watch follows the running pluginhost's overlay stream, starting over when
// the pluginhost restarts.
func (r *overlayRelay) watch(ctx context.Context) {
	for ctx.Err() == nil {
		c, ok := r.plugins()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		w, h := r.size()
		sctx, cancel := context.WithCancel(ctx)
		stream, err := c.WatchOverlays(sctx, &pb.WatchOverlaysRequest{Width: w, Height: h})
		for err == nil {
			var o *pb.Overlay
			if o, err = stream.Recv(); err == nil {
				select {
				case r.msgs <- o:
				case <-ctx.Done():
				}
			}
		}
		cancel()
		select {
		case r.msgs <- nil:
		case <-ctx.Done():
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
