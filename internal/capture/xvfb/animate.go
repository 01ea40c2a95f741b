package xvfb

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// Animation plays a loop of frames full screen on the root window, like a
// video player would, for benchmarks that need moving content. The frames
// are uploaded once into pixmaps the X server holds, so each new frame
// costs the server one copy and the content generator almost nothing: the
// cores stay with the pipeline being measured, unlike a real video player
// that decodes and scales every frame.
type Animation struct {
	conn   *xgb.Conn
	pixmap []xproto.Pixmap
	root   xproto.Window
	gc     xproto.Gcontext
	w, h   uint16
	period atomic.Int64 // nanoseconds between frames
	shown  atomic.Int64
	stop   chan struct{}
	done   sync.WaitGroup
}

// Animate shows frames (each w×h, 4 bytes per pixel in the server's
// little-endian B,G,R,X order, as ffmpeg's "bgra" writes them) one after
// another at fps, looping, until Close.
func (s *Server) Animate(frames [][]byte, w, h int, fps float64) (*Animation, error) {
	if len(frames) == 0 || fps <= 0 {
		return nil, fmt.Errorf("xvfb: animate needs frames and a rate")
	}
	conn, err := xgb.NewConnDisplay(s.Display)
	if err != nil {
		return nil, fmt.Errorf("xvfb: %w", err)
	}
	setup := xproto.Setup(conn)
	scr := setup.DefaultScreen(conn)
	a := &Animation{conn: conn, root: scr.Root, w: uint16(w), h: uint16(h), stop: make(chan struct{})}
	if a.gc, err = xproto.NewGcontextId(conn); err != nil {
		conn.Close()
		return nil, err
	}
	// No GraphicsExpose/NoExpose event per copy: nobody reads them, and
	// xgb stops reading replies once its event queue is full.
	if err := xproto.CreateGCChecked(conn, a.gc, xproto.Drawable(a.root), xproto.GcGraphicsExposures,
		[]uint32{0}).Check(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("xvfb: gc: %w", err)
	}
	// Any other event or asynchronous error is drained for the same reason.
	go func() {
		for {
			if ev, err := conn.WaitForEvent(); ev == nil && err == nil {
				return // connection closed
			}
		}
	}()
	// A request is at most MaximumRequestLength 4-byte units (no
	// BIG-REQUESTS here), so each frame goes up in bands of whole rows.
	stride := 4 * w
	rows := max(1, (int(setup.MaximumRequestLength)*4-64)/stride)
	for i, f := range frames {
		if len(f) < stride*h {
			conn.Close()
			return nil, fmt.Errorf("xvfb: frame %d has %d bytes, want %d", i, len(f), stride*h)
		}
		p, err := xproto.NewPixmapId(conn)
		if err != nil {
			conn.Close()
			return nil, err
		}
		xproto.CreatePixmap(conn, scr.RootDepth, p, xproto.Drawable(a.root), a.w, a.h)
		for y := 0; y < h; y += rows {
			n := min(rows, h-y)
			xproto.PutImage(conn, xproto.ImageFormatZPixmap, xproto.Drawable(p), a.gc, a.w, uint16(n),
				0, int16(y), 0, scr.RootDepth, f[y*stride:(y+n)*stride])
		}
		a.pixmap = append(a.pixmap, p)
	}
	// One round trip: every upload has been processed (or failed).
	if _, err := xproto.GetInputFocus(conn).Reply(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("xvfb: uploading frames: %w", err)
	}
	a.SetRate(fps)
	a.done.Add(1)
	go a.run()
	return a, nil
}

// SetRate changes how many frames a second are shown.
func (a *Animation) SetRate(fps float64) { a.period.Store(int64(float64(time.Second) / fps)) }

// Shown is how many frames have been drawn so far.
func (a *Animation) Shown() int64 { return a.shown.Load() }

func (a *Animation) run() {
	defer a.done.Done()
	next := time.Now()
	for i := 0; ; i++ {
		xproto.CopyArea(a.conn, xproto.Drawable(a.pixmap[i%len(a.pixmap)]), xproto.Drawable(a.root), a.gc,
			0, 0, 0, 0, a.w, a.h)
		// Wait for the server to draw it, so a slow server is not sent a
		// growing queue of frames.
		if _, err := xproto.GetInputFocus(a.conn).Reply(); err != nil {
			return
		}
		a.shown.Add(1)
		next = next.Add(time.Duration(a.period.Load()))
		if now := time.Now(); now.After(next) {
			next = now // behind: show the next frame now, never catch up in a burst
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-a.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Close stops the animation and frees its pixmaps (the last frame stays
// on the screen).
func (a *Animation) Close() {
	close(a.stop)
	a.done.Wait()
	for _, p := range a.pixmap {
		xproto.FreePixmap(a.conn, p)
	}
	xproto.FreeGC(a.conn, a.gc)
	a.conn.Close()
}
