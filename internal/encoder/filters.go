package encoder

import (
	"image"
	"strings"
	"sync"
	"time"

	"github.com/onair-studio/onair/internal/audio"
	"github.com/onair-studio/onair/internal/audiolimits"
	"github.com/onair-studio/onair/internal/filter"
	"github.com/onair-studio/onair/internal/scene"
	"github.com/onair-studio/onair/stub/pb"
)

// layerFilter is one configured filter: it connects to its plugin's
// socket for frames of the size it is first handed, and again when that
// size changes. Filters outlive pipelines, so a restarted pipeline keeps
// its plugins attached and counted. A filter on a sound source (a layer
// of "sound:SOURCE") gets that source's mixer blocks instead.
type layerFilter struct {
	spec     *pb.FilterSpec
	deadline float64 // fps the deadline is cut from

	mu     sync.Mutex
	client *filter.Client
	size   image.Point
	// closed: the filter left the configuration. A frame composed with
	// the old filter list meanwhile is bypassed, never dialled for: a
	// client nobody closes would hold the plugin's connection.
	closed bool
	// before sums the counters of clients replaced by a size change.
	before filter.Stats
}

// soundSource is the sound source the filter is on, "" for pictures.
func (f *layerFilter) soundSource() string {
	src, _ := strings.CutPrefix(f.spec.GetLayer(), audiolimits.SoundPrefix)
	if src == f.spec.GetLayer() {
		return ""
	}
	return src
}

// deadlineOf is how long a frame or block may wait for the plugin.
func (f *layerFilter) deadlineOf() time.Duration {
	if f.soundSource() != "" {
		return filter.DeadlineForBlock(audio.FrameSamples)
	}
	return filter.DeadlineFor(f.deadline)
}

// ApplySound filters one mixer block in place; false: it was bypassed and
// is unchanged.
func (f *layerFilter) ApplySound(block []float32) bool {
	c := f.clientFor(image.Pt(audio.FrameSamples, audio.Channels))
	return c != nil && c.ApplySamples(block)
}

func (f *layerFilter) Apply(img *image.RGBA) bool {
	c := f.clientFor(img.Rect.Size())
	return c != nil && c.Apply(img)
}

// Lend lends the compositor a slot of the plugin's ring to draw the
// program into (see filter.Client.Lend); nil when none is free.
func (f *layerFilter) Lend(w, h int) scene.Loan {
	if c := f.clientFor(image.Pt(w, h)); c != nil {
		if ln := c.Lend(); ln != nil {
			return ln
		}
	}
	return nil
}

// A program filter's frames travel with no copy.
var _ scene.Lender = (*layerFilter)(nil)

// clientFor is the client for frames (or sound blocks) of size, dialled
// on the first one and again when the size changes; nil once the filter
// is closed.
func (f *layerFilter) clientFor(size image.Point) *filter.Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	if f.client == nil || f.size != size {
		if f.client != nil {
			f.before = add(f.before, f.client.Stats())
			f.client.Close()
		}
		f.size = size
		o := filter.Options{Deadline: f.deadlineOf()}
		if f.soundSource() != "" {
			o.Format = filter.FormatF32
		}
		f.client = filter.Dial(f.spec.GetSocket(), size.X, size.Y, o)
	}
	return f.client
}

func add(a, b filter.Stats) filter.Stats {
	a.Filtered += b.Filtered
	a.Late += b.Late
	a.Bypassed += b.Bypassed
	a.Rejected += b.Rejected
	a.Attaches += b.Attaches
	return a
}

func (f *layerFilter) status() *pb.FilterStatus {
	f.mu.Lock()
	st := f.before
	if f.client != nil {
		cur := f.client.Stats()
		st = add(st, cur)
		st.Connected, st.Err, st.WaitP50, st.WaitP99 = cur.Connected, cur.Err, cur.WaitP50, cur.WaitP99
	}
	f.mu.Unlock()
	return &pb.FilterStatus{Name: f.spec.GetName(), Layer: f.spec.GetLayer(), Attached: st.Connected,
		Filtered: st.Filtered, Late: st.Late, Bypassed: st.Bypassed, Rejected: st.Rejected, Attaches: st.Attaches,
		Error: st.Err, DeadlineUs: f.deadlineOf().Microseconds(),
		WaitP50Us: st.WaitP50.Microseconds(), WaitP99Us: st.WaitP99.Microseconds()}
}

func (f *layerFilter) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.client != nil {
		f.client.Close()
		f.client = nil
	}
}

// reconcileFilters keeps the filters cfg still names (same name, layer,
// socket and frame rate) and replaces the rest.
func reconcileFilters(old []*layerFilter, cfg *pb.EncoderConfig) []*layerFilter {
	fps := float64(cfg.GetFps())
	if fps <= 0 {
		fps = 30
	}
	var out []*layerFilter
	kept := map[*layerFilter]bool{}
	for _, sp := range cfg.GetFilters() {
		var f *layerFilter
		for _, o := range old {
			if !kept[o] && o.spec.GetName() == sp.GetName() && o.spec.GetLayer() == sp.GetLayer() &&
				o.spec.GetSocket() == sp.GetSocket() && o.deadline == fps {
				f = o
				break
			}
		}
		if f == nil {
			f = &layerFilter{spec: sp, deadline: fps}
		}
		kept[f] = true
		out = append(out, f)
	}
	for _, o := range old {
		if !kept[o] {
			o.close()
		}
	}
	return out
}

// sceneFilters is the filters as the compositor takes them.
func sceneFilters(fs []*layerFilter) *scene.Filters {
	if len(fs) == 0 {
		return nil
	}
	out := &scene.Filters{Layers: map[string][]scene.Filter{}}
	for _, f := range fs {
		if f.soundSource() != "" {
			continue
		}
		if l := f.spec.GetLayer(); l != "" {
			out.Layers[l] = append(out.Layers[l], f)
		} else {
			out.Program = append(out.Program, f)
		}
	}
	return out
}

// soundFilters is the sound filters by the source they are on, in order.
func soundFilters(fs []*layerFilter) map[string][]*layerFilter {
	out := map[string][]*layerFilter{}
	for _, f := range fs {
		if src := f.soundSource(); src != "" {
			out[src] = append(out[src], f)
		}
	}
	return out
}
