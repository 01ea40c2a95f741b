package scene

import "image"

// Filter changes a frame in place, on the compositor's goroutine. Apply
// reports whether it changed the frame; a filter that cannot keep up
// leaves the frame as it was and says false, so the frame is composed
// unfiltered and on time.
type Filter interface {
	Apply(img *image.RGBA) bool
}

// A Lender is a filter that can lend the compositor the memory its frames
// travel in: as the program's first filter, the program is drawn straight
// into it and shown from it, with no copy either way.
type Lender interface {
	Filter
	// Lend reserves a w×h frame to draw into; nil when none is free
	// (Apply then filters, or bypasses, the frame as usual).
	Lend(w, h int) Loan
}

// Loan is a frame a Lender lent.
type Loan interface {
	Image() *image.RGBA
	// Filter filters the frame drawn into Image in place. False: it was
	// bypassed and Image must not be shown (a late filter may still be
	// writing it).
	Filter() bool
	// Return gives the frame back; Image must not be read after.
	Return()
}

// Filters are the filters on the scene: per layer (by the layer's name,
// or its source when it has none), and on the program after everything
// else is drawn. Each list runs in order.
type Filters struct {
	Layers  map[string][]Filter
	Program []Filter
}

// SetFilters replaces the scene's filters from the next frame on; nil
// removes them all. Safe from any goroutine.
func (c *Compositor) SetFilters(fs *Filters) { c.filters.Store(fs) }

func (fs *Filters) program() []Filter {
	if fs == nil {
		return nil
	}
	return fs.Program
}

// layer is l's filters. A layer placing a plugin's overlay is not filtered.
func (fs *Filters) layer(l *layer) []Filter {
	if fs == nil || l.src == nil {
		return nil
	}
	return fs.Layers[l.name()]
}

// name is how filters and status name the layer.
func (l *layer) name() string {
	if l.cfg.Name != "" {
		return l.cfg.Name
	}
	return l.cfg.Source
}
