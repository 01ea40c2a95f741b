package scene

import (
	"errors"
	"fmt"
	"image"
	"slices"
)

// overlay is a picture set at runtime (by a plugin) above every layer.
type overlay struct {
	id      string
	img     *image.RGBA // private copy, never written after SetOverlay
	at      image.Point
	opacity uint32
	opaque  bool
}

// CheckOverlay reports whether SetOverlay would take an overlay, so a
// caller keeping overlays for later scenes keeps only ones that will show.
func CheckOverlay(id string, img *image.RGBA, opacity float64) error {
	if img == nil {
		return errors.New("scene: overlay " + id + ": no image")
	}
	if !(opacity >= 0 && opacity <= 1) {
		return fmt.Errorf("scene: overlay %s: opacity %v is not between 0 and 1", id, opacity)
	}
	return nil
}

// SetOverlay shows img (premultiplied, drawn at its own size) with its
// top-left corner at x,y in output pixels, above every layer, with opacity
// 0..1. An overlay with the same id is replaced and keeps its place in the
// stack; a new id goes on top. img is copied, so the caller may reuse it.
//
// The copy is made before the lock is taken, and the render loop only holds
// that lock to pick up the current list, so a large overlay never delays a
// frame.
func (c *Compositor) SetOverlay(id string, img *image.RGBA, x, y int, opacity float64) error {
	if err := CheckOverlay(id, img, opacity); err != nil {
		return err
	}
	b := img.Bounds()
	o := &overlay{
		id:      id,
		img:     image.NewRGBA(image.Rectangle{Max: b.Size()}),
		at:      image.Pt(x, y),
		opacity: opacity16(opacity),
		opaque:  true,
	}
	n := 4 * b.Dx()
	for row := 0; row < b.Dy(); row++ {
		si := img.PixOffset(b.Min.X, b.Min.Y+row)
		di := o.img.PixOffset(0, row)
		copy(o.img.Pix[di:di+n], img.Pix[si:si+n])
	}
	for i := 3; i < len(o.img.Pix); i += 4 {
		if o.img.Pix[i] != 255 {
			o.opaque = false
			break
		}
	}

	c.ovMu.Lock()
	defer c.ovMu.Unlock()
	list := slices.Clone(c.overlays)
	if i := slices.IndexFunc(list, func(e *overlay) bool { return e.id == id }); i >= 0 {
		list[i] = o
	} else {
		list = append(list, o)
	}
	c.overlays = list
	return nil
}

// RemoveOverlay takes the overlay id off the picture; an unknown id is a
// no-op.
func (c *Compositor) RemoveOverlay(id string) {
	c.ovMu.Lock()
	defer c.ovMu.Unlock()
	c.overlays = slices.DeleteFunc(slices.Clone(c.overlays), func(e *overlay) bool { return e.id == id })
}

// Overlays returns the ids of the current overlays, bottom to top.
func (c *Compositor) Overlays() []string {
	c.ovMu.Lock()
	defer c.ovMu.Unlock()
	ids := make([]string, len(c.overlays))
	for i, o := range c.overlays {
		ids[i] = o.id
	}
	return ids
}
