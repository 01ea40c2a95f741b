package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"
)

// cornerGrab is how close to a layer's bottom-right corner, in window
// pixels, a drag resizes the layer instead of moving it.
const cornerGrab = 12

// layerDragger lies over the program picture: dragging a layer moves it,
// dragging its bottom-right corner resizes it. The change is sent when the
// drag ends, as one scene edit.
type layerDragger struct {
	widget.BaseWidget
	s *Studio

	active bool
	layer  int // the layer dragged, -1 for none
	resize bool
	moved  fyne.Delta
}

func newLayerDragger(s *Studio) *layerDragger {
	d := &layerDragger{s: s, layer: -1}
	d.ExtendBaseWidget(d)
	return d
}

func (d *layerDragger) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}

// picture is where the program is drawn inside the dragger (the preview
// keeps the program's aspect ratio) and how many program pixels one window
// pixel is.
func (d *layerDragger) picture() (at fyne.Position, scale float32, ok bool) {
	set := d.s.status.GetSettings()
	w, h := float32(set.GetWidth()), float32(set.GetHeight())
	size := d.Size()
	if w <= 0 || h <= 0 || size.Width <= 0 || size.Height <= 0 {
		return fyne.Position{}, 0, false
	}
	scale = max(w/size.Width, h/size.Height)
	at = fyne.NewPos((size.Width-w/scale)/2, (size.Height-h/scale)/2)
	return at, scale, true
}

func (d *layerDragger) Dragged(ev *fyne.DragEvent) {
	if !d.active {
		d.active, d.moved, d.layer = true, fyne.Delta{}, -1
		d.grab(ev.Position.Subtract(ev.Dragged))
	}
	d.moved = fyne.Delta{DX: d.moved.DX + ev.Dragged.DX, DY: d.moved.DY + ev.Dragged.DY}
}

// grab finds the topmost shown layer under the drag's start.
func (d *layerDragger) grab(p fyne.Position) {
	at, scale, ok := d.picture()
	if !ok {
		return
	}
	set := d.s.status.GetSettings()
	x, y := (p.X-at.X)*scale, (p.Y-at.Y)*scale
	layers := sceneLayers(d.s.status)
	for i := len(layers) - 1; i >= 0; i-- {
		l := layers[i]
		w, h := float32(l.GetWidth()), float32(l.GetHeight())
		if w == 0 {
			w = float32(set.GetWidth())
		}
		if h == 0 {
			h = float32(set.GetHeight())
		}
		lx, ly := float32(l.GetX()), float32(l.GetY())
		if l.GetHidden() || x < lx || y < ly || x > lx+w || y > ly+h {
			continue
		}
		d.layer = i
		d.resize = (lx+w-x)/scale < cornerGrab && (ly+h-y)/scale < cornerGrab
		return
	}
}

func (d *layerDragger) DragEnd() {
	defer func() { d.active = false }()
	_, scale, ok := d.picture()
	layers := sceneLayers(d.s.status)
	if !ok || d.layer < 0 || d.layer >= len(layers) {
		return
	}
	l, set := layers[d.layer], d.s.status.GetSettings()
	dx, dy := int32(d.moved.DX*scale), int32(d.moved.DY*scale)
	if d.resize {
		if l.Width == 0 {
			l.Width = set.GetWidth()
		}
		if l.Height == 0 {
			l.Height = set.GetHeight()
		}
		l.Width, l.Height = max(1, l.Width+dx), max(1, l.Height+dy)
		d.s.setScene("Resize source", layers)
		return
	}
	l.X, l.Y = l.X+dx, l.Y+dy
	d.s.setScene("Move source", layers)
}
