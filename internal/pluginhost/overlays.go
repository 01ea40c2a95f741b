package pluginhost

import (
	"bytes"
	"sort"
	"sync"

	"github.com/onair-studio/onair/stub/pb"
)

// A plugin's overlay must fit in one message (stub's 64 MiB) with room to
// spare. The output it is drawn on may be larger: any size up to
// limits.MaxOutputWidth x limits.MaxOutputHeight.
const (
	MaxOverlaySide   = 4096
	MaxOverlayPixels = 4096 * 3072
)

// overlays holds the current overlay of each plugin for one output size and
// fans changes out to the WatchOverlays streams. A stream that reads slowly
// gets only the latest message per plugin; nothing here ever waits for it.
type overlays struct {
	mu sync.Mutex
	// width, height is the output size overlays are rendered for; gen
	// counts its changes, so a frame rendered for an old size is dropped.
	width, height int32
	gen           uint64
	cur           map[string]current
	versions      map[string]uint64
	subs          map[*subscriber]struct{}
}

type current struct {
	owner any // the runner that published it
	ov    *pb.Overlay
}

func newOverlays() *overlays {
	return &overlays{cur: map[string]current{}, versions: map[string]uint64{}, subs: map[*subscriber]struct{}{}}
}

// subscriber is one WatchOverlays stream's mailbox.
type subscriber struct {
	mu      sync.Mutex
	pending map[string]*pb.Overlay
	wake    chan struct{}
}

func (s *subscriber) post(ov *pb.Overlay) {
	s.mu.Lock()
	s.pending[ov.Id] = ov
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns what is pending, in id order, and empties the mailbox.
func (s *subscriber) take() []*pb.Overlay {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*pb.Overlay, 0, len(s.pending))
	for _, ov := range s.pending {
		out = append(out, ov)
	}
	clear(s.pending)
	sort.Slice(out, func(i, j int) bool { return out[i].Id < out[j].Id })
	return out
}

// subscribe adds a stream for an output of width x height. If the size
// differs from the current one, the current overlays are dropped (the other
// streams are told they are removed) and changed is true: every overlay
// plugin must render again. The new stream starts with all current
// overlays.
func (o *overlays) subscribe(width, height int32) (s *subscriber, changed bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if width != o.width || height != o.height {
		o.width, o.height, changed = width, height, true
		o.gen++
		for id := range o.cur {
			o.removeLocked(id)
		}
	}
	s = &subscriber{pending: map[string]*pb.Overlay{}, wake: make(chan struct{}, 1)}
	for _, c := range o.cur {
		s.post(c.ov)
	}
	o.subs[s] = struct{}{}
	return s, changed
}

func (o *overlays) unsubscribe(s *subscriber) {
	o.mu.Lock()
	delete(o.subs, s)
	o.mu.Unlock()
}

// target is what a plugin renders for: the output size, its generation, and
// whether anyone is watching.
type target struct {
	width, height int32
	gen           uint64
	watched       bool
}

func (o *overlays) target() target {
	o.mu.Lock()
	defer o.mu.Unlock()
	return target{o.width, o.height, o.gen, len(o.subs) > 0}
}

// put publishes owner's overlay for id, rendered for size generation gen. It
// reports false when nothing was sent: the size changed meanwhile, or the
// overlay equals the current one.
func (o *overlays) put(id string, owner any, gen uint64, ov *pb.Overlay) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen != o.gen {
		return false
	}
	if c, ok := o.cur[id]; ok && c.owner == owner && sameOverlay(c.ov, ov) {
		return false
	}
	o.versions[id]++
	ov.Id, ov.Version = id, o.versions[id]
	o.cur[id] = current{owner, ov}
	for s := range o.subs {
		s.post(ov)
	}
	return true
}

// remove takes id's overlay away if owner published it.
func (o *overlays) remove(id string, owner any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if c, ok := o.cur[id]; ok && c.owner == owner {
		o.removeLocked(id)
	}
}

func (o *overlays) removeLocked(id string) {
	delete(o.cur, id)
	o.versions[id]++
	ov := &pb.Overlay{Id: id, Version: o.versions[id], Removed: true}
	for s := range o.subs {
		s.post(ov)
	}
}

func sameOverlay(a, b *pb.Overlay) bool {
	return a.X == b.X && a.Y == b.Y && a.Width == b.Width && a.Height == b.Height &&
		a.Opacity == b.Opacity && bytes.Equal(a.Rgba, b.Rgba)
}
