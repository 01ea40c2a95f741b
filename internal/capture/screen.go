//go:build linux

package capture

import (
	"errors"
	"fmt"
	"image"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xinerama"
	"github.com/jezek/xgb/xproto"
	"github.com/kbinani/screenshot"
	"golang.org/x/sys/unix"

	"github.com/onair-studio/onair/internal/source"
)

func init() {
	// xgb logs every recoverable hiccup to stderr; errors reach us as values.
	xgb.Logger = log.New(io.Discard, "", 0)
}

// ErrNoDisplay is returned when no X display is configured.
var ErrNoDisplay = errors.New("screen capture: no X display (DISPLAY is not set)")

// Displays lists the monitors of the X display named by $DISPLAY, as
// kbinani/screenshot enumerates them: bounds relative to the primary
// monitor's top-left corner, index 0 being the primary.
func Displays() ([]image.Rectangle, error) {
	d := os.Getenv("DISPLAY")
	if d == "" {
		return nil, ErrNoDisplay
	}
	n := screenshot.NumActiveDisplays()
	if n == 0 {
		return nil, fmt.Errorf("screen capture: no monitors found on X display %q (unreachable, or no XINERAMA)", d)
	}
	out := make([]image.Rectangle, n)
	for i := range out {
		out[i] = screenshot.GetDisplayBounds(i)
	}
	return out, nil
}

// screenSource captures a rectangle of the X root window: a monitor, a region
// or a window's rectangle. It keeps one X connection and, when the server
// offers MIT-SHM, one shared-memory segment as large as the root window for
// its whole life; the server writes each capture straight into it. (Opening
// both for every frame, as screenshot.CaptureRect does, costs about 4x.)
type screenSource struct {
	spec   source.Spec
	mu     sync.Mutex // Read against Close
	conn   *xgb.Conn
	root   xproto.Window
	screen image.Rectangle // root window bounds
	rect   image.Rectangle // capture rectangle in root coordinates
	window xproto.Window   // window sources follow the window as it moves

	// MIT-SHM: the segment's server-side id and our mapping; data is nil
	// when the server has no MIT-SHM and plain GetImage is used instead.
	seg  shm.Seg
	data []byte

	scaler bgrxScaler
}

func openScreen(spec source.Spec) (src *screenSource, err error) {
	name := spec.XDisplay
	if name == "" {
		name = os.Getenv("DISPLAY")
	}
	if name == "" {
		return nil, ErrNoDisplay
	}
	// xgb panics on some malformed server replies; a source must not.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("screen capture: X display %q: %v", name, r)
		}
	}()
	conn, err := xgb.NewConnDisplay(name)
	if err != nil {
		return nil, fmt.Errorf("screen capture: cannot open X display %q: %w", name, err)
	}
	s := &screenSource{spec: spec, conn: conn}
	if err := s.init(); err != nil {
		s.Close()
		return nil, fmt.Errorf("screen capture: %s on X display %q: %w", spec, name, err)
	}
	return s, nil
}

func (s *screenSource) init() error {
	setup := xproto.Setup(s.conn)
	scr := setup.DefaultScreen(s.conn)
	if err := checkPixelFormat(setup, scr); err != nil {
		return err
	}
	s.root = scr.Root
	s.screen = image.Rect(0, 0, int(scr.WidthInPixels), int(scr.HeightInPixels))

	switch {
	case s.spec.Kind == source.KindWindow:
		w, err := s.findWindow()
		if err != nil {
			return err
		}
		s.window = w
		if s.rect, err = s.windowRect(); err != nil {
			return err
		}
	case s.spec.Display < 0:
		s.rect = s.screen
	default:
		mon, err := s.monitor(s.spec.Display)
		if err != nil {
			return err
		}
		s.rect = mon
		if !s.spec.Region.Empty() {
			s.rect = s.spec.Region.Add(mon.Min)
		}
		if s.rect.Intersect(s.screen).Empty() {
			return fmt.Errorf("region %v lies outside the screen %v", s.rect, s.screen)
		}
	}
	s.attachSHM()
	return nil
}

// checkPixelFormat accepts the only layout the converter handles: 32 bits
// per pixel, little-endian, 8-bit red/green/blue masks (what every current
// X server uses at depth 24 and 32).
func checkPixelFormat(setup *xproto.SetupInfo, scr *xproto.ScreenInfo) error {
	bpp := 0
	for _, f := range setup.PixmapFormats {
		if f.Depth == scr.RootDepth {
			bpp = int(f.BitsPerPixel)
		}
	}
	if bpp != 32 || setup.ImageByteOrder != xproto.ImageOrderLSBFirst {
		return fmt.Errorf("unsupported pixel format (depth %d, %d bits per pixel, byte order %d)",
			scr.RootDepth, bpp, setup.ImageByteOrder)
	}
	for _, d := range scr.AllowedDepths {
		for _, v := range d.Visuals {
			if v.VisualId == scr.RootVisual &&
				(v.RedMask != 0xff0000 || v.GreenMask != 0xff00 || v.BlueMask != 0xff) {
				return fmt.Errorf("unsupported visual (masks %#x %#x %#x)", v.RedMask, v.GreenMask, v.BlueMask)
			}
		}
	}
	return nil
}

// monitor returns monitor i's bounds in root coordinates (XINERAMA, as
// screenshot uses; without it the whole screen is monitor 0).
func (s *screenSource) monitor(i int) (image.Rectangle, error) {
	if xinerama.Init(s.conn) != nil {
		if i == 0 {
			return s.screen, nil
		}
		return image.Rectangle{}, fmt.Errorf("display %d not found (no XINERAMA, only display 0)", i)
	}
	r, err := xinerama.QueryScreens(s.conn).Reply()
	if err != nil {
		return image.Rectangle{}, fmt.Errorf("listing monitors: %w", err)
	}
	if r.Number == 0 && i == 0 {
		return s.screen, nil
	}
	if i >= len(r.ScreenInfo) {
		return image.Rectangle{}, fmt.Errorf("display %d not found (%d displays)", i, len(r.ScreenInfo))
	}
	m := r.ScreenInfo[i]
	return image.Rect(int(m.XOrg), int(m.YOrg), int(m.XOrg)+int(m.Width), int(m.YOrg)+int(m.Height)), nil
}

// attachSHM sets up the one shared-memory segment; on any failure the source
// falls back to plain GetImage.
func (s *screenSource) attachSHM() {
	if shm.Init(s.conn) != nil {
		return
	}
	size := 4 * s.screen.Dx() * s.screen.Dy()
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, size, unix.IPC_CREAT|0o600)
	if err != nil {
		return
	}
	// Marked for removal as soon as the server has attached: the kernel
	// then frees it when both sides detach, even if this process is killed.
	defer unix.SysvShmCtl(id, unix.IPC_RMID, nil)
	data, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		return
	}
	seg, err := shm.NewSegId(s.conn)
	if err == nil {
		err = shm.AttachChecked(s.conn, seg, uint32(id), false).Check()
	}
	if err != nil {
		unix.SysvShmDetach(data)
		return
	}
	s.seg, s.data = seg, data
}

// UsesSHM reports whether src is a screen or window source that captures
// through MIT-SHM (rather than plain GetImage, or not from the screen at all).
func UsesSHM(src Source) bool {
	s, ok := src.(*screenSource)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data != nil
}

func (s *screenSource) ReadShared(size image.Point, _ int64, _ time.Time) (pix []byte, stride int, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil, 0, false, fmt.Errorf("screen capture: %s: closed", s.spec)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("screen capture: %s: %v", s.spec, r)
		}
	}()
	rect, err := s.prepare()
	if err != nil || rect.Size() != size || rect.Intersect(s.screen) != rect {
		return nil, 0, false, err
	}
	if pix, err = s.grab(rect); err != nil {
		return nil, 0, false, fmt.Errorf("screen capture: %s: %w", s.spec, err)
	}
	return pix, 4 * rect.Dx(), true, nil
}

// prepare drains the connection's error events and returns the capture
// rectangle now (a window's follows the window). Called with mu held.
func (s *screenSource) prepare() (image.Rectangle, error) {
	// Errors of requests nobody waits on arrive as events; drain them so
	// xgb's reader never blocks on a full event queue.
	for {
		ev, xerr := s.conn.PollForEvent()
		if ev == nil && xerr == nil {
			break
		}
	}
	if s.window == 0 {
		return s.rect, nil
	}
	rect, err := s.windowRect()
	if err != nil {
		return rect, fmt.Errorf("screen capture: %s: %w", s.spec, err)
	}
	return rect, nil
}

func (s *screenSource) Read(dst *image.RGBA, _ int64, _ time.Time) error {
	_, err := s.read(dst, false)
	return err
}

func (s *screenSource) ReadBGRX(dst *image.RGBA, _ int64, _ time.Time) (raw bool, err error) {
	return s.read(dst, true)
}

// read captures into dst, as B,G,R,X when rawOK and the picture needs
// neither scaling nor clipping (then raw is true), else as R,G,B,A.
func (s *screenSource) read(dst *image.RGBA, rawOK bool) (raw bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return false, fmt.Errorf("screen capture: %s: closed", s.spec)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("screen capture: %s: %v", s.spec, r)
		}
	}()
	rect, err := s.prepare()
	if err != nil {
		return false, err
	}
	clip := rect.Intersect(s.screen)
	if clip.Empty() {
		fillRect(dst, image.Rect(0, 0, dst.Bounds().Dx(), dst.Bounds().Dy()), patternBox)
		return false, nil
	}
	pix, err := s.grab(clip)
	if err != nil {
		return false, fmt.Errorf("screen capture: %s: %w", s.spec, err)
	}
	db := dst.Bounds()
	if rawOK && clip == rect && db.Dx() == clip.Dx() && db.Dy() == clip.Dy() {
		for y := 0; y < db.Dy(); y++ {
			i := dst.PixOffset(db.Min.X, db.Min.Y+y)
			copy(dst.Pix[i:i+4*db.Dx()], pix[4*y*clip.Dx():])
		}
		return true, nil
	}
	out := dst
	if clip != rect {
		// Partly off screen: black around the visible part.
		fillRect(dst, image.Rect(0, 0, db.Dx(), db.Dy()), patternBox)
		sx := func(x int) int { return (x - rect.Min.X) * db.Dx() / rect.Dx() }
		sy := func(y int) int { return (y - rect.Min.Y) * db.Dy() / rect.Dy() }
		sub := image.Rect(sx(clip.Min.X), sy(clip.Min.Y), sx(clip.Max.X), sy(clip.Max.Y)).Add(db.Min)
		out = dst.SubImage(sub).(*image.RGBA)
	}
	s.scaler.convert(out, pix, 4*clip.Dx(), clip.Dx(), clip.Dy())
	return false, nil
}

// grab fetches r (inside the screen) as B,G,R,X rows 4*r.Dx() bytes apart.
func (s *screenSource) grab(r image.Rectangle) ([]byte, error) {
	x, y, w, h := int16(r.Min.X), int16(r.Min.Y), uint16(r.Dx()), uint16(r.Dy())
	if s.data != nil {
		_, err := shm.GetImage(s.conn, xproto.Drawable(s.root), x, y, w, h, 0xffffffff,
			xproto.ImageFormatZPixmap, s.seg, 0).Reply()
		if err != nil {
			return nil, err
		}
		return s.data[:4*r.Dx()*r.Dy()], nil
	}
	reply, err := xproto.GetImage(s.conn, xproto.ImageFormatZPixmap, xproto.Drawable(s.root),
		x, y, w, h, 0xffffffff).Reply()
	if err != nil {
		return nil, err
	}
	if len(reply.Data) < 4*r.Dx()*r.Dy() {
		return nil, fmt.Errorf("short image: %d bytes for %v", len(reply.Data), r)
	}
	return reply.Data, nil
}

// windowRect is the window's inside in root coordinates, now. Both
// questions go out before either answer is awaited: one round trip to the X
// server a frame, not two.
func (s *screenSource) windowRect() (image.Rectangle, error) {
	size := xproto.GetGeometry(s.conn, xproto.Drawable(s.window))
	origin := xproto.TranslateCoordinates(s.conn, s.window, s.root, 0, 0)
	g, err := size.Reply()
	if err != nil {
		return image.Rectangle{}, fmt.Errorf("window 0x%x: %w", uint32(s.window), err)
	}
	p, err := origin.Reply()
	if err != nil {
		return image.Rectangle{}, fmt.Errorf("window 0x%x: %w", uint32(s.window), err)
	}
	return image.Rect(int(p.DstX), int(p.DstY), int(p.DstX)+int(g.Width), int(p.DstY)+int(g.Height)), nil
}

// findWindow resolves a window source to an id: the given one, or the first
// window (depth first) whose title equals the name, else the first whose
// title contains it.
func (s *screenSource) findWindow() (xproto.Window, error) {
	if s.spec.Window != 0 {
		w := xproto.Window(s.spec.Window)
		if _, err := xproto.GetGeometry(s.conn, xproto.Drawable(w)).Reply(); err != nil {
			return 0, fmt.Errorf("window 0x%x not found: %w", s.spec.Window, err)
		}
		return w, nil
	}
	atoms := []xproto.Atom{xproto.AtomWmName}
	if a, err := xproto.InternAtom(s.conn, true, uint16(len("_NET_WM_NAME")), "_NET_WM_NAME").Reply(); err == nil && a.Atom != 0 {
		atoms = append(atoms, a.Atom)
	}
	var exact, partial xproto.Window
	var walk func(w xproto.Window)
	walk = func(w xproto.Window) {
		if exact != 0 {
			return
		}
		for _, a := range atoms {
			p, err := xproto.GetProperty(s.conn, false, w, a, xproto.GetPropertyTypeAny, 0, 256).Reply()
			if err != nil || len(p.Value) == 0 {
				continue
			}
			title := string(p.Value)
			if title == s.spec.WindowName {
				exact = w
				return
			}
			if partial == 0 && strings.Contains(title, s.spec.WindowName) {
				partial = w
			}
		}
		tree, err := xproto.QueryTree(s.conn, w).Reply()
		if err != nil {
			return
		}
		for _, c := range tree.Children {
			walk(c)
		}
	}
	walk(s.root)
	switch {
	case exact != 0:
		return exact, nil
	case partial != 0:
		return partial, nil
	}
	return 0, fmt.Errorf("no window titled %q", s.spec.WindowName)
}

func (s *screenSource) Size() image.Point { return s.rect.Size() }
func (s *screenSource) Opaque() bool      { return true }
func (s *screenSource) String() string    { return s.spec.String() }

// Close detaches and frees the segment and closes the X connection.
func (s *screenSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	if s.data != nil {
		// A round trip, so the server has let go before we do.
		shm.DetachChecked(s.conn, s.seg).Check()
		unix.SysvShmDetach(s.data)
		s.data = nil
	}
	s.conn.Close()
	s.conn = nil
	return nil
}
