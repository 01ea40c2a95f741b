// Package scene composes OnAir's program picture: ordered layers of capture
// sources plus runtime overlays, at the output size and frame rate.
//
// Frames are *image.RGBA (bytes R,G,B,A, premultiplied alpha; see package
// capture), opaque, and reused from frame to frame. The one exception is a
// frame Run hands its consumer straight from a full-frame screen capture,
// which stays in the X server's byte order (see Frame).
package scene

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-studio/onair/internal/capture"
	"github.com/onair-studio/onair/internal/limits"
	"github.com/onair-studio/onair/internal/source"
	"github.com/onair-studio/onair/internal/stages"
)

// Layer places one source on the output. Layers are drawn in order, later
// ones above.
type Layer struct {
	// Source is a source string (see source.Parse), e.g. "screen:0".
	Source string
	// X, Y is the layer's top-left corner in output pixels; it may lie
	// partly outside the output.
	X, Y int
	// W, H is the layer's size in output pixels; the source is scaled to
	// it. A zero W or H means the output's width or height, so a layer
	// with neither fills the program (a 1080p screen in a 720p program is
	// scaled down, not cropped).
	W, H int
	// Opacity is 0 (invisible) to 1 (as the source is).
	Opacity float64
	// Name tells the layer apart in status and errors; empty: its source.
	Name string
	// Hidden layers keep their place but are not drawn.
	Hidden bool
	// Crop cuts source pixels off each edge before the rest is scaled to
	// W×H; for sources of any size (pattern, colour) the source is the
	// layer's size.
	Crop Crop
}

// Crop is how many source pixels to cut off each edge.
type Crop struct{ Left, Top, Right, Bottom int }

// Options configure a Compositor.
type Options struct {
	Width, Height int
	FPS           float64
	Layers        []Layer
	// XDisplay is the X display for screen and window layers; empty means
	// $DISPLAY.
	XDisplay string
}

// LayerStatus is one layer's health.
type LayerStatus struct {
	Source string
	// Err is why the layer is not drawn now (its source did not open, or
	// its last read failed); nil while it draws.
	Err error
	// Errors counts the frames composed without this layer because of an
	// error.
	Errors int64
}

// Stats are the compositor's counters.
type Stats struct {
	// Composed counts frames composed and handed to the consumer.
	Composed int64
	// Skipped counts frame slots that passed while an earlier frame was
	// still being composed or consumed.
	Skipped int64
	// ZeroCopy counts frames handed to the consumer straight from the
	// capture's shared memory, with no copy.
	ZeroCopy int64
	Layers   []LayerStatus
}

// ErrNoFrame is returned by Snapshot before the first frame is composed.
var ErrNoFrame = errors.New("scene: no frame composed yet")

// Compositor renders the scene. Run drives it on a clock; Compose renders a
// single frame. Overlays, Stats and Snapshot are safe from any goroutine.
type Compositor struct {
	w, h     int
	fps      float64
	xdisplay string

	// sceneMu guards the scene: the layers on air, the outgoing ones while
	// a transition runs, and a switch waiting for the next frame.
	sceneMu sync.Mutex
	layers  []*layer
	scenes  switching

	// frameMu guards out and shown: held for writing while a frame is
	// composed and for reading while Snapshot copies it.
	frameMu sync.RWMutex
	out     *image.RGBA
	// shown is the last frame composed: out, or lent, a full-frame
	// capture left where the X server wrote it.
	shown     *image.RGBA
	lent      image.RGBA
	shownBGRX bool // shown holds B,G,R,X (see Frame)
	hasFrame  bool
	// loan, when not nil, is what shown points into: a program filter's
	// frame, held until the next frame is composed (or Close).
	loan Loan

	ovMu     sync.Mutex
	overlays []*overlay // replaced, never changed in place, so a reader may keep it

	filters atomic.Pointer[Filters]

	composed, skipped atomic.Int64
	zeroCopy          atomic.Int64
	running           atomic.Bool
	clock             clock // nil: the real one
}

type layer struct {
	cfg  Layer
	src  capture.Source // nil when it failed to open
	rect image.Rectangle
	buf  *image.RGBA
	// plugin names the plugin whose overlay this layer places; such a
	// layer has no source of its own. drawn is the overlay last scaled
	// into buf.
	plugin string
	drawn  *overlay
	// whole is the uncropped source picture of a cropped layer, and kept
	// the part of it that shows; nil when the layer is not cropped.
	whole, kept *image.RGBA
	opacity     uint32
	// media is a file or webcam layer: when it fails it shows a
	// placeholder in its place, so the fault is seen, not a hole.
	media bool
	// drew says buf holds this frame's picture (read and filtered), and
	// opaque whether it is still opaque; only the compositor's goroutine
	// uses them.
	drew, opaque bool

	mu     sync.Mutex
	err    error
	errors int64
}

// New opens every layer's source. A source that does not open (a bad
// string, no X display, a missing file) does not fail New: the layer is
// left out of every frame and its error shows in Stats, so the rest of the
// scene still goes on air. New fails only for a bad output size, frame rate
// or layer geometry.
func New(opts Options) (*Compositor, error) {
	if !limits.PictureSizeOK(opts.Width, opts.Height) {
		return nil, fmt.Errorf("scene: output size %dx%d out of range", opts.Width, opts.Height)
	}
	if !(opts.FPS > 0 && opts.FPS <= 1000) {
		return nil, fmt.Errorf("scene: frame rate %v out of range", opts.FPS)
	}
	c := &Compositor{
		w: opts.Width, h: opts.Height, fps: opts.FPS, xdisplay: opts.XDisplay,
		out: image.NewRGBA(image.Rect(0, 0, opts.Width, opts.Height)),
	}
	c.shown = c.out
	layers, err := c.openLayers(opts.Layers)
	if err != nil {
		return nil, err
	}
	c.layers = layers
	fillBlack(c.out)
	return c, nil
}

// checkLayer refuses geometry no frame can be drawn with.
func checkLayer(i int, cfg Layer) error {
	if !(cfg.Opacity >= 0 && cfg.Opacity <= 1) {
		return fmt.Errorf("scene: layer %d (%s): opacity %v is not between 0 and 1", i, cfg.Source, cfg.Opacity)
	}
	if cfg.W < 0 || cfg.H < 0 || cfg.W > limits.MaxPictureSide || cfg.H > limits.MaxPictureSide {
		return fmt.Errorf("scene: layer %d (%s): size %dx%d out of range", i, cfg.Source, cfg.W, cfg.H)
	}
	return nil
}

// openLayers checks every layer first, then opens their sources.
func (c *Compositor) openLayers(cfgs []Layer) ([]*layer, error) {
	for i, cfg := range cfgs {
		if err := checkLayer(i, cfg); err != nil {
			return nil, err
		}
	}
	opts := Options{Width: c.w, Height: c.h, FPS: c.fps, XDisplay: c.xdisplay}
	var out []*layer
	for _, cfg := range cfgs {
		out = append(out, openLayer(cfg, opts, nil))
	}
	return out, nil
}

// openLayer opens cfg's source, or takes over reuse, an open source of
// the same string.
func openLayer(cfg Layer, opts Options, reuse capture.Source) *layer {
	l := &layer{cfg: cfg, opacity: opacity16(cfg.Opacity)}
	spec, err := source.Parse(cfg.Source)
	l.media = err == nil && (spec.Kind == source.KindFile || spec.Kind == source.KindWebcam)
	switch {
	case err == nil && spec.Kind == source.KindPlugin:
		l.plugin = spec.Plugin // drawn from the plugin's overlay
	case reuse != nil:
		l.src = reuse
	case err == nil:
		spec.XDisplay = opts.XDisplay
		l.src, err = capture.OpenSpec(spec)
		if p, ok := l.src.(interface{ SetFrameRate(float64) }); ok && opts.FPS > 0 {
			p.SetFrameRate(opts.FPS) // a media file's pictures are due by frame slot
		}
	}
	l.err = err
	size := image.Pt(opts.Width, opts.Height)
	if l.src != nil && spec.Kind == source.KindText {
		size = l.src.Size() // a line of text is drawn at its own size, not stretched
	}
	if cfg.W > 0 {
		size.X = cfg.W
	}
	if cfg.H > 0 {
		size.Y = cfg.H
	}
	l.rect = image.Rectangle{Max: size}.Add(image.Pt(cfg.X, cfg.Y))
	if l.src != nil || l.plugin != "" {
		l.buf = image.NewRGBA(image.Rectangle{Max: size})
		if cfg.Crop != (Crop{}) {
			if err := l.cropTo(size); err != nil {
				if reuse == nil {
					l.src.Close()
				}
				l.src, l.err = nil, err
			}
		}
	}
	return l
}

// cropTo prepares a cropped layer: the source is read whole (at its own
// size, or the layer's for sources of any size) and the part kept is scaled
// to the layer. A crop that leaves nothing is the layer's error.
func (l *layer) cropTo(size image.Point) error {
	whole := l.src.Size()
	if whole == (image.Point{}) {
		whole = size
	}
	c := l.cfg.Crop
	kept := image.Rect(c.Left, c.Top, whole.X-c.Right, whole.Y-c.Bottom)
	if c.Left < 0 || c.Top < 0 || c.Right < 0 || c.Bottom < 0 || kept.Dx() <= 0 || kept.Dy() <= 0 {
		return fmt.Errorf("scene: layer %s: crop %d,%d,%d,%d (left, top, right, bottom) leaves nothing of its %dx%d source",
			l.cfg.Source, c.Left, c.Top, c.Right, c.Bottom, whole.X, whole.Y)
	}
	l.whole = image.NewRGBA(image.Rectangle{Max: whole})
	l.kept = l.whole.SubImage(kept).(*image.RGBA)
	return nil
}

// read draws the layer's source into buf, cropped when it is.
func (l *layer) read(buf *image.RGBA, frameNo int64, t time.Time) error {
	if l.whole == nil {
		return l.src.Read(buf, frameNo, t)
	}
	if err := l.src.Read(l.whole, frameNo, t); err != nil {
		return err
	}
	capture.ScaleBilinear(buf, l.kept)
	return nil
}

// setErr records the outcome of drawing the layer for one frame.
func (l *layer) setErr(err error) {
	l.mu.Lock()
	l.err = err
	if err != nil {
		l.errors++
	}
	l.mu.Unlock()
}

// covers reports whether the layer fills the whole output opaquely, so it
// can be read straight into the frame and nothing under it shows.
func (l *layer) covers(out image.Rectangle) bool {
	return l.src != nil && !l.cfg.Hidden && l.whole == nil && l.rect == out && l.opacity == fullOpacity && l.src.Opaque()
}

// Compose renders frame frameNo, captured at t, and returns it. The frame is
// reused: it is valid until the next Compose. Do not call it while Run runs.
func (c *Compositor) Compose(frameNo int64, t time.Time) *image.RGBA {
	return c.compose(frameNo, t, false).RGBA
}

// compose renders a frame; with rawOK, a full-frame screen capture with
// nothing drawn over it is left as the X server's B,G,R,X, and where the
// server wrote it when the source can lend it. While a transition runs,
// both scenes are rendered and mixed. When the first program filter lends
// a frame, the program is drawn into it and, filtered, shown from it.
func (c *Compositor) compose(frameNo int64, t time.Time, rawOK bool) Frame {
	start := stages.Now()
	c.frameMu.Lock()
	defer c.frameMu.Unlock()
	c.giveBack()
	out := c.out
	c.ovMu.Lock()
	overlays := c.overlays
	c.ovMu.Unlock()
	fs := c.filters.Load()
	cur, mix := c.advance(frameNo)
	program := fs.program()
	p := painting{cur: cur, mix: mix, frameNo: frameNo, t: t, overlays: overlays, fs: fs,
		rawOK: rawOK && len(overlays) == 0 && len(program) == 0}
	var loan Loan
	if len(program) > 0 {
		if l, ok := program[0].(Lender); ok {
			loan = l.Lend(c.w, c.h)
		}
	}
	shown := out
	if loan != nil {
		shown = loan.Image()
	}
	d := c.paint(shown, p)
	if loan != nil {
		program = program[1:]
		if loan.Filter() {
			c.loan = loan
		} else {
			// Shown unfiltered and whole: drawn again into the
			// compositor's own frame.
			loan.Return()
			shown = out
			p.again = true
			d.capture += c.paint(out, p).capture
		}
	}
	for _, f := range program {
		f.Apply(shown)
	}
	c.shown, c.shownBGRX = shown, d.bgrx
	if d.lent != nil {
		c.lent = image.RGBA{Pix: d.lent, Stride: d.stride, Rect: out.Rect}
		c.shown = &c.lent
		c.zeroCopy.Add(1)
	}
	c.hasFrame = true
	return Frame{RGBA: c.shown, BGRX: c.shownBGRX, Capture: d.capture, Compose: stages.Since(start) - d.capture}
}

// painting is what one frame draws.
type painting struct {
	cur      []*layer
	mix      mixing
	frameNo  int64
	t        time.Time
	overlays []*overlay
	fs       *Filters
	rawOK    bool
	// again: the frame is drawn a second time (a program filter's frame
	// was bypassed). The layers' own pictures from the first time are
	// drawn as they are, not read or filtered again, and nothing is
	// counted twice.
	again bool
}

// paint draws the program into dst: the scene, or both while a transition
// runs, then the overlays no layer places.
func (c *Compositor) paint(dst *image.RGBA, p painting) drawn {
	var d drawn
	if p.mix.prev == nil {
		d = render(p.cur, dst, p)
	} else {
		d = c.scenes.mix(dst, p)
	}
	// Overlays no layer places go above everything, where their plugins
	// put them.
	for _, o := range p.overlays {
		if !placed(o.id, p.cur) && !placed(o.id, p.mix.prev) {
			drawOver(dst, o.img, o.at, o.opacity, o.opaque)
		}
	}
	return d
}

// giveBack returns the program filter's frame the last frame was shown
// from. The caller holds frameMu for writing.
func (c *Compositor) giveBack() {
	if c.loan == nil {
		return
	}
	c.shown = c.out
	c.loan.Return()
	c.loan = nil
}

// drawn is what render did.
type drawn struct {
	// bgrx: the frame holds B,G,R,X (only with rawOK: see compose).
	bgrx bool
	// lent, when not nil, is the frame itself: a source's own pixels,
	// rows stride bytes apart (see capture.SharedReader); out is untouched.
	lent   []byte
	stride int
	// capture is the time spent reading sources.
	capture time.Duration
}

// render draws layers, bottom first, into out, or lends a full-frame
// capture (only with p.rawOK: see compose), each layer through its
// filters.
func render(layers []*layer, out *image.RGBA, p painting) (d drawn) {
	frameNo, t, fs := p.frameNo, p.t, p.fs
	for _, l := range layers {
		if l.src == nil && l.plugin == "" && !p.again { // never opened: missing from every frame
			l.mu.Lock()
			l.errors++
			l.mu.Unlock()
		}
	}

	// The topmost layer that covers the output is read straight into it and
	// the layers under it are not drawn at all: the common full-screen
	// capture costs no extra copy.
	base := -1
	for i := len(layers) - 1; i >= 0; i-- {
		if layers[i].covers(out.Rect) && len(fs.layer(layers[i])) == 0 {
			base = i
			break
		}
	}
	start := 0
	if base >= 0 {
		var err error
		began := stages.Now()
		src := layers[base].src
		if p.rawOK && base == len(layers)-1 {
			// Nothing is drawn over it: converted from where the server
			// wrote it if the source lends it, else copied as B,G,R,X.
			var ok bool
			if sr, can := src.(capture.SharedReader); can {
				d.lent, d.stride, ok, err = sr.ReadShared(out.Rect.Size(), frameNo, t)
				d.bgrx = ok
			}
			switch rr, can := src.(capture.RawReader); {
			case ok || err != nil:
			case can:
				d.bgrx, err = rr.ReadBGRX(out, frameNo, t)
			default:
				err = src.Read(out, frameNo, t)
			}
		} else {
			err = src.Read(out, frameNo, t)
		}
		d.capture += stages.Since(began)
		if !p.again {
			layers[base].setErr(err)
		}
		if err == nil {
			start = base + 1
		}
	}
	if start == 0 {
		fillBlack(out)
	}
	for i := start; i < len(layers); i++ {
		l := layers[i]
		if i == base { // failed above
			l.placeholder(out)
			continue
		}
		if l.plugin != "" && !l.cfg.Hidden {
			l.drawOverlay(out, p.overlays)
			continue
		}
		if l.src == nil {
			l.placeholder(out)
		}
		if l.src == nil || l.cfg.Hidden || l.opacity == 0 || !l.rect.Overlaps(out.Rect) {
			continue
		}
		if !p.again {
			began := stages.Now()
			err := l.read(l.buf, frameNo, t)
			d.capture += stages.Since(began)
			l.setErr(err)
			l.drew, l.opaque = err == nil, l.src.Opaque()
			if l.drew {
				for _, f := range fs.layer(l) {
					if f.Apply(l.buf) {
						l.opaque = false // a filter may have made pixels transparent
					}
				}
			}
		}
		if l.drew {
			drawOver(out, l.buf, l.rect.Min, l.opacity, l.opaque)
		} else {
			l.placeholder(out)
		}
	}
	return d
}

// Stats returns the counters and every layer's status.
func (c *Compositor) Stats() Stats {
	s := Stats{Composed: c.composed.Load(), Skipped: c.skipped.Load(), ZeroCopy: c.zeroCopy.Load()}
	c.sceneMu.Lock()
	layers := c.layers
	c.sceneMu.Unlock()
	for _, l := range layers {
		l.mu.Lock()
		s.Layers = append(s.Layers, LayerStatus{Source: l.cfg.Source, Err: l.err, Errors: l.errors})
		l.mu.Unlock()
	}
	return s
}

// Size returns the output size.
func (c *Compositor) Size() (w, h int) { return c.w, c.h }

// Close releases every source (X connections, shared memory). Stop Run
// first; a frame composed after Close leaves the closed layers out.
func (c *Compositor) Close() error {
	c.frameMu.Lock()
	defer c.frameMu.Unlock()
	c.sceneMu.Lock()
	defer c.sceneMu.Unlock()
	if c.shown != c.out {
		// The lent pixels go with their source or filter: keep a copy for
		// snapshots.
		copy(c.out.Pix, c.shown.Pix)
		c.shown = c.out
	}
	c.giveBack()
	// The closed layers stay, so later frames report them as failing.
	all := append(append(append([]*layer(nil), c.layers...), c.scenes.prev...), c.scenes.pending...)
	c.scenes.prev, c.scenes.pending = nil, nil
	return closeLayers(all)
}

// closeLayers releases the layers' sources, each once (an edit hands a
// source on to the next layer of the same source).
func closeLayers(layers []*layer) error {
	var errs []error
	closed := map[capture.Source]bool{}
	for _, l := range layers {
		if l.src != nil && !closed[l.src] {
			closed[l.src] = true
			errs = append(errs, l.src.Close())
		}
	}
	return errors.Join(errs...)
}

// PlaceholderColor fills a media layer whose file or camera failed.
var PlaceholderColor = color.RGBA{R: 0x90, G: 0x10, B: 0x40, A: 0xff}

// placeholder draws a failed media layer's place: PlaceholderColor with
// a white cross, so the fault shows where the picture should be.
func (l *layer) placeholder(out *image.RGBA) {
	if !l.media || l.cfg.Hidden || l.opacity == 0 {
		return
	}
	r := l.rect.Intersect(out.Rect)
	if r.Empty() {
		return
	}
	draw.Draw(out, r, image.NewUniform(PlaceholderColor), image.Point{}, draw.Src)
	w, h := l.rect.Dx(), l.rect.Dy()
	white := image.NewUniform(color.White)
	for x := 0; x < w; x++ {
		y := x * h / w
		for _, p := range []image.Point{{x, y}, {x, h - 1 - y}} {
			cross := image.Rect(p.X-1, p.Y-1, p.X+2, p.Y+2).Add(l.rect.Min).Intersect(r)
			if !cross.Empty() {
				draw.Draw(out, cross, white, image.Point{}, draw.Src)
			}
		}
	}
}

// placed reports whether a layer places the overlay id.
func placed(id string, layers []*layer) bool {
	for _, l := range layers {
		if l.plugin == id {
			return true
		}
	}
	return false
}

// drawOverlay draws a plugin layer: its plugin's latest overlay at the
// layer's place, at the overlay's own size when the layer gives none, else
// scaled to it (once per new overlay picture). Nothing shows while the
// plugin has sent no picture.
func (l *layer) drawOverlay(out *image.RGBA, overlays []*overlay) {
	i := slices.IndexFunc(overlays, func(o *overlay) bool { return o.id == l.plugin })
	if i < 0 {
		return
	}
	o := overlays[i]
	op := l.opacity * o.opacity / fullOpacity
	if l.cfg.W == 0 && l.cfg.H == 0 {
		drawOver(out, o.img, l.rect.Min, op, o.opaque)
		return
	}
	if l.drawn != o {
		capture.ScaleBilinear(l.buf, o.img)
		l.drawn = o
	}
	drawOver(out, l.buf, l.rect.Min, op, o.opaque)
}
