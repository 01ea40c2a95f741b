package scene

import (
	"encoding/binary"
	"image"

	"github.com/onair-studio/onair/internal/capture"
	"github.com/onair-studio/onair/internal/transition"
)

// switching is the scene change in progress, guarded by the compositor's
// sceneMu (the buffers belong to the frame being composed).
type switching struct {
	// pending is a switch waiting for the next frame, with its transition.
	pending     []*layer
	pendingWith transition.T
	// prev is the outgoing scene while a transition runs: frames
	// startFrame..startFrame+frames-1 mix it with the new one.
	prev       []*layer
	with       transition.T
	startFrame int64
	frames     int64
	// old and next are the two scenes' pictures during a transition,
	// allocated on the first one.
	old, next *image.RGBA
}

// mixing is what one frame needs of a running transition.
type mixing struct {
	prev     []*layer
	with     transition.T
	progress float64 // 0 (all old) to 1 (all new), exclusive
}

// Switch replaces the scene's layers with a transition. The new sources
// are opened here, on the caller's goroutine, so the frame clock never
// waits for them; the change shows from the next frame composed, and the
// old sources are released once the transition is over. The codec and the
// output never notice: only the pictures change. Bad geometry is refused
// and changes nothing.
func (c *Compositor) Switch(layers []Layer, with transition.T) error {
	opened, err := c.openLayers(layers)
	if err != nil {
		return err
	}
	c.sceneMu.Lock()
	replaced := c.scenes.pending
	c.scenes.pending, c.scenes.pendingWith = opened, with
	c.release(replaced)
	c.sceneMu.Unlock()
	return nil
}

// Edit shows an edited scene on air (a layer moved, hidden, added, a new
// text) as a cut on the next frame, like Switch, except that every source
// whose string did not change is kept as it is, not opened again: a media
// file plays on through an edit of another layer, a camera is not
// reopened.
//
// The sources to keep are chosen under sceneMu, which is then released
// while new ones open; so Edit and Switch must not run concurrently (the
// encoder's service makes its changes one at a time), or a switch taken
// up in between could close a source this edit keeps.
func (c *Compositor) Edit(layers []Layer) error {
	for i, cfg := range layers {
		if err := checkLayer(i, cfg); err != nil {
			return err
		}
	}
	c.sceneMu.Lock()
	from := c.layers
	if c.scenes.pending != nil {
		from = c.scenes.pending
	}
	reuse := make([]capture.Source, len(layers))
	taken := map[*layer]bool{}
	for i, cfg := range layers {
		for _, l := range from {
			if l.src != nil && !taken[l] && l.cfg.Source == cfg.Source {
				reuse[i], taken[l] = l.src, true
				break
			}
		}
	}
	c.sceneMu.Unlock()
	opts := Options{Width: c.w, Height: c.h, FPS: c.fps, XDisplay: c.xdisplay}
	opened := make([]*layer, len(layers))
	for i, cfg := range layers {
		opened[i] = openLayer(cfg, opts, reuse[i])
	}
	c.sceneMu.Lock()
	replaced := c.scenes.pending
	c.scenes.pending, c.scenes.pendingWith = opened, transition.T{Kind: transition.Cut}
	c.release(replaced)
	c.sceneMu.Unlock()
	return nil
}

// release closes, on a goroutine of their own, the sources of layers no
// longer shown whose sources no shown or waiting layer took over. The
// caller holds sceneMu.
func (c *Compositor) release(gone []*layer) {
	if len(gone) == 0 {
		return // the common case, every frame
	}
	live := map[capture.Source]bool{}
	for _, ls := range [][]*layer{c.layers, c.scenes.prev, c.scenes.pending} {
		for _, l := range ls {
			if l.src != nil {
				live[l.src] = true
			}
		}
	}
	var closing []*layer
	for _, l := range gone {
		if l.src != nil && !live[l.src] {
			closing = append(closing, l)
		}
	}
	if len(closing) > 0 {
		go closeLayers(closing)
	}
}

// Sound is the sound of the shown layer named name (a layer without a
// name is named by its source), nil when no such layer shows or its source
// has no sound. The mixer asks for it for every block, so a switch or an
// edit changes what it hears at once.
func (c *Compositor) Sound(name string) capture.SoundReader {
	c.sceneMu.Lock()
	defer c.sceneMu.Unlock()
	for _, ls := range [][]*layer{c.layers, c.scenes.prev} {
		for _, l := range ls {
			if l.cfg.Hidden || l.src == nil || LayerName(l.cfg) != name {
				continue
			}
			if s, ok := l.src.(capture.SoundReader); ok && s.HasSound() {
				return s
			}
		}
	}
	return nil
}

// LayerName is how a layer is called: its name, else its source.
func LayerName(l Layer) string {
	if l.Name != "" {
		return l.Name
	}
	return l.Source
}

// advance takes up a waiting switch at frame frameNo and says what the
// frame shows: the current layers and, during a transition, the outgoing
// ones and how far along it is.
func (c *Compositor) advance(frameNo int64) ([]*layer, mixing) {
	c.sceneMu.Lock()
	defer c.sceneMu.Unlock()
	s := &c.scenes
	var done []*layer
	if s.pending != nil {
		// A switch during a transition drops the scene that was leaving.
		done = append(done, s.prev...)
		s.prev = nil
		if n := s.pendingWith.Frames(c.fps); n > 1 {
			s.prev, s.with, s.startFrame, s.frames = c.layers, s.pendingWith, frameNo, n
		} else {
			done = append(done, c.layers...)
		}
		c.layers, s.pending = s.pending, nil
	}
	var m mixing
	if s.prev != nil {
		// Frame startFrame already shows a step of the new scene: the
		// switch is visible on the next slot whatever the transition.
		if k := frameNo - s.startFrame + 1; k >= s.frames {
			done = append(done, s.prev...)
			s.prev = nil
		} else {
			m = mixing{prev: s.prev, with: s.with, progress: float64(k) / float64(s.frames)}
		}
	}
	c.release(done)
	return c.layers, m
}

// mix renders both scenes and combines them into out as the transition
// says; what it reports is the time both spent reading sources. Drawn
// again (p.again), it combines the scenes rendered the first time.
func (s *switching) mix(out *image.RGBA, p painting) drawn {
	m := p.mix
	p.rawOK = false
	var d drawn
	if !p.again {
		if s.old == nil || s.old.Rect != out.Rect {
			s.old, s.next = image.NewRGBA(out.Rect), image.NewRGBA(out.Rect)
		}
		d = render(m.prev, s.old, p)
		d.capture += render(p.cur, s.next, p).capture
	}
	switch m.with.Kind {
	case transition.Slide:
		slide(out, s.old, s.next, m.progress)
	default:
		fade(out, s.old, s.next, m.progress)
	}
	return drawn{capture: d.capture}
}

// fade writes old blended toward next by p (0..1) into out. All three
// have the same bounds. Four bytes of each are weighted at once in the
// 16-bit lanes of a uint64 (255*256 fits a lane), the tail byte by byte.
func fade(out, old, next *image.RGBA, p float64) {
	a := uint64(p*256 + 0.5)
	b := 256 - a
	const lanes = 0x00ff00ff00ff00ff
	o, x, y := out.Pix[:len(old.Pix)], old.Pix, next.Pix[:len(old.Pix)]
	i := 0
	for ; i+8 <= len(x); i += 8 {
		xv, yv := binary.LittleEndian.Uint64(x[i:]), binary.LittleEndian.Uint64(y[i:])
		even := ((xv&lanes)*b + (yv&lanes)*a) >> 8 & lanes
		odd := ((xv>>8&lanes)*b + (yv>>8&lanes)*a) & (lanes << 8)
		binary.LittleEndian.PutUint64(o[i:], even|odd)
	}
	for ; i < len(x); i++ {
		o[i] = uint8((uint64(x[i])*b + uint64(y[i])*a) >> 8)
	}
}

// slide writes old moved left by p of the width, with next coming in
// behind it from the right, into out.
func slide(out, old, next *image.RGBA, p float64) {
	w := out.Rect.Dx()
	shift := int(p*float64(w) + 0.5)
	for y := 0; y < out.Rect.Dy(); y++ {
		row := out.PixOffset(out.Rect.Min.X, out.Rect.Min.Y+y)
		o := out.Pix[row : row+4*w]
		copy(o[:4*(w-shift)], old.Pix[row+4*shift:row+4*w])
		copy(o[4*(w-shift):], next.Pix[row:row+4*shift])
	}
}
