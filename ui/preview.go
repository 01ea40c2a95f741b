package ui

import (
	"bytes"
	"context"
	"image"
	_ "image/jpeg" // snapshots come as JPEG
	_ "image/png"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/onair-studio/onair/stub/pb"
)

// previewWidth is the snapshot width asked for: enough for half a screen,
// small enough that the encoder makes a few a second for almost nothing.
const previewWidth = 640

// preview shows the program from snapshots the master takes a few times a
// second: no decoder in the GUI, and the same picture local or attached.
type preview struct {
	s *Studio
	// studio makes this studio mode's preview (the scene being edited)
	// rather than the program. It has no loop of its own: the program's
	// loop fetches it too while wanted, so one goroutine feeds both panes.
	studio    bool
	wanted    atomic.Bool
	companion *preview      // on the program's preview: studio mode's
	drag      *layerDragger // on the program's preview: moves and resizes layers
	img       *canvas.Image
	note      *widget.Label
	cancel    context.CancelFunc
	content   fyne.CanvasObject
}

func newPreview(s *Studio, studio bool) *preview {
	p := &preview{s: s, studio: studio}
	p.img = canvas.NewImageFromImage(image.NewRGBA(image.Rect(0, 0, 16, 9)))
	p.img.FillMode = canvas.ImageFillContain
	p.img.ScaleMode = canvas.ImageScaleFastest
	p.img.SetMinSize(fyne.NewSize(320, 180))
	p.note = widget.NewLabel("No picture yet")
	p.note.Alignment = fyne.TextAlignCenter
	p.content = container.NewStack(canvas.NewRectangle(previewBackground), p.img, container.NewCenter(p.note))
	if !studio {
		p.drag = newLayerDragger(s)
		p.content = container.NewStack(p.content, p.drag)
	}
	if studio {
		title := widget.NewLabel("Preview (studio mode: the next scene)")
		title.TextStyle.Bold = true
		p.content = container.NewBorder(title, nil, nil, nil, p.content)
		p.content.Hide()
	}
	return p
}

// start follows the master with c until stop.
func (p *preview) start(c pb.ControlClient) {
	p.stop()
	if p.s.opt.PreviewEvery <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.loop(ctx, c, p.s.opt.PreviewEvery)
}

// follow shows studio mode's preview while the master has a preview
// scene, and hides it otherwise.
func (p *preview) follow(st *pb.MasterStatus) {
	on := st.GetPreviewScene() != ""
	p.wanted.Store(on)
	switch {
	case on && !p.content.Visible():
		p.content.Show()
	case !on && p.content.Visible():
		p.content.Hide()
	}
}

func (p *preview) stop() {
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
}

// loop asks for one snapshot at a time, so a slow master is never asked
// again before it answered.
func (p *preview) loop(ctx context.Context, c pb.ControlClient, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		im, err := snapshot(ctx, c, p.studio)
		var sim image.Image
		var serr error
		studio := p.companion != nil && p.companion.wanted.Load()
		if studio {
			sim, serr = snapshot(ctx, c, true)
		}
		if ctx.Err() != nil {
			return
		}
		p.s.opt.Do(func() {
			if ctx.Err() == nil {
				p.show(im, err)
				if studio {
					p.companion.show(sim, serr)
				}
			}
		})
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func snapshot(ctx context.Context, c pb.ControlClient, studio bool) (image.Image, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req := &pb.SnapshotRequest{Width: previewWidth, Format: "jpeg"}
	if studio { // the encoder's preview is already small: its own size
		req = &pb.SnapshotRequest{Format: "jpeg", Preview: true}
	}
	r, err := c.Snapshot(ctx, req)
	if err != nil {
		return nil, err
	}
	im, _, err := image.Decode(bytes.NewReader(r.GetImage()))
	return im, err
}

func (p *preview) show(im image.Image, err error) {
	if err != nil {
		p.note.SetText("No picture: " + errText(err))
		p.note.Show()
		return
	}
	p.note.Hide()
	p.img.Image = im
	p.img.Refresh()
}
