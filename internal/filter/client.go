package filter

import (
	"errors"
	"fmt"
	"image"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Stats are one filter's counters, as status shows them.
type Stats struct {
	// Connected says the plugin's process is attached now.
	Connected bool
	// Filtered counts frames the filter changed in time.
	Filtered uint64
	// Late counts frames whose result came after the deadline (or never).
	Late uint64
	// Bypassed counts frames that aired unfiltered for any reason: late,
	// plugin not attached, every slot still busy, or a bad result.
	Bypassed uint64
	// Rejected counts results refused: a torn slot, a damaged guard, a
	// wrong size or a failure the plugin reported.
	Rejected uint64
	// Attaches counts connections made; more than one means the plugin
	// was restarted (or the encoder reconnected).
	Attaches uint64
	// Err is why the filter is not attached, or why the last setup or
	// frame was refused.
	Err string
	// WaitP50 and WaitP99 are how long the last frames handed to the
	// plugin waited for their answers (a late one counts its deadline).
	WaitP50, WaitP99 time.Duration
}

// waitsKept is how many recent waits the percentiles are taken over.
const waitsKept = 256

// Options tune a Client.
type Options struct {
	// Deadline is how long a frame waits for its result.
	Deadline time.Duration
	// Format is what the frames are (default FormatRGBA; FormatF32 for
	// sound, see DialSound).
	Format string
	// MinBackoff and MaxBackoff bound the wait between connection
	// attempts while the plugin is away (defaults 20 ms and 100 ms: an
	// attempt on a local socket costs microseconds, and a restarted
	// plugin should be back on air well within a second).
	MinBackoff, MaxBackoff time.Duration
}

// DeadlineFor is the default deadline at a frame rate: a third of the frame
// interval, so compose, filter and encode still fit in one frame.
func DeadlineFor(fps float64) time.Duration {
	return time.Duration(float64(time.Second) / fps / 3)
}

// DeadlineForBlock is the default deadline of a sound block of n samples
// per channel at 48 kHz: a third of the time it plays (7.1 ms for 1024).
func DeadlineForBlock(n int) time.Duration {
	return time.Duration(n) * time.Second / 48000 / 3
}

// Client is the encoder's end of one filter on frames of one size. Apply,
// Lend and the loans' methods are called from one goroutine (the
// compositor's, or the mixer's); the connection is made and remade in the
// background.
type Client struct {
	path    string
	w, h    int
	o       Options
	closed  chan struct{}
	stopped chan struct{}

	cur atomic.Pointer[conn] // attached connection, nil while away
	seq uint64               // last sequence number sent (even)

	filtered, late, bypassed, rejected, attaches atomic.Uint64

	mu    sync.Mutex
	err   string
	waits []time.Duration // the last waitsKept, a ring
	next  int
}

// Dial returns a client for the plugin listening at path, which filters
// frames of w×h in o.Format. It connects, and reconnects after a crash, on
// its own.
func Dial(path string, w, h int, o Options) *Client {
	if o.Deadline <= 0 {
		o.Deadline = DeadlineFor(30)
	}
	if o.Format == "" {
		o.Format = FormatRGBA
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 20 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 100 * time.Millisecond
	}
	c := &Client{path: path, w: w, h: h, o: o, closed: make(chan struct{}), stopped: make(chan struct{})}
	go c.connectLoop()
	return c
}

func (c *Client) setErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		c.err = ""
	} else {
		c.err = err.Error()
	}
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Stats{Connected: c.cur.Load() != nil, Filtered: c.filtered.Load(), Late: c.late.Load(),
		Bypassed: c.bypassed.Load(), Rejected: c.rejected.Load(), Attaches: c.attaches.Load(), Err: c.err}
	if len(c.waits) > 0 {
		w := slices.Clone(c.waits)
		slices.Sort(w)
		st.WaitP50, st.WaitP99 = w[len(w)/2], w[(len(w)-1)*99/100]
	}
	return st
}

// waited records one frame's wait for its answer.
func (c *Client) waited(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waits) < waitsKept {
		c.waits = append(c.waits, d)
		return
	}
	c.waits[c.next] = d
	c.next = (c.next + 1) % waitsKept
}

// Close ends the connection; later frames are bypassed.
func (c *Client) Close() {
	close(c.closed)
	<-c.stopped
}

// connectLoop keeps a connection attached, with backoff while the plugin
// is away.
func (c *Client) connectLoop() {
	defer close(c.stopped)
	wait := c.o.MinBackoff
	for {
		cn, err := c.attach()
		if err == nil {
			c.attaches.Add(1)
			c.setErr(nil)
			c.cur.Store(cn)
			wait = c.o.MinBackoff
			if c.watch(cn) {
				c.setErr(fmt.Errorf("filter plugin went away: %v", cn.failed))
			}
			c.cur.Store(nil)
			cn.release()
			continue
		}
		if !errors.Is(err, unix.ECONNREFUSED) && !errors.Is(err, unix.ENOENT) {
			c.setErr(err)
		} else {
			c.setErr(fmt.Errorf("waiting for the filter plugin at %s", c.path))
		}
		select {
		case <-c.closed:
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, c.o.MaxBackoff)
	}
}

// hangupCheck is how often an attached connection is checked for a
// plugin that went away while no frame was sent (a frame sent finds out
// at once).
const hangupCheck = 100 * time.Millisecond

// watch waits until cn dies (true) or the client is closed (false).
func (c *Client) watch(cn *conn) bool {
	t := time.NewTicker(hangupCheck)
	defer t.Stop()
	for {
		select {
		case <-cn.dead:
			return true
		case <-c.closed:
			return false
		case <-t.C:
			if cn.hungUp() {
				cn.fail(errors.New("the plugin hung up"))
			}
		}
	}
}

// attach connects and sets the ring up; the plugin's wishes are checked
// before any memory is made.
func (c *Client) attach() (*conn, error) {
	select {
	case <-c.closed:
		return nil, errors.New("closed")
	default:
	}
	nc, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: c.path, Net: "unixpacket"})
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*conn, error) {
		nc.Close()
		return nil, err
	}
	// Setup must not hang the background loop on a plugin that never
	// answers.
	nc.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := nc.Write(hello{width: c.w, height: c.h, formats: []string{c.o.Format}}.marshal()); err != nil {
		return fail(err)
	}
	b := make([]byte, 64)
	n, err := nc.Read(b)
	if err != nil {
		return fail(err)
	}
	l, err := parseLayout(b[:n])
	if err == nil {
		err = l.Check()
	}
	if err == nil && (l.Width != c.w || l.Height != c.h || l.Format != c.o.Format) {
		err = fmt.Errorf("%s frames of %dx%d asked for, %s %dx%d offered", l.Format, l.Width, l.Height, c.o.Format, c.w, c.h)
	}
	if err != nil {
		return fail(fmt.Errorf("filter refused at setup: %w", err))
	}
	fd, mem, err := newRing(l)
	if err != nil {
		return fail(err)
	}
	_, _, err = nc.WriteMsgUnix(marshalLayout(l), unix.UnixRights(fd), nil)
	unix.Close(fd) // the plugin holds its own copy now
	if err != nil {
		unix.Munmap(mem)
		return fail(err)
	}
	nc.SetDeadline(time.Time{})
	return newConn(c, nc, l, mem)
}

// Apply filters img (RGBA, w×h, no padding) in place. It returns false when
// the frame was bypassed: img is then unchanged. It never waits longer than
// the deadline.
func (c *Client) Apply(img *image.RGBA) bool {
	ok := img.Rect.Dx() == c.w && img.Rect.Dy() == c.h && img.Stride == 4*c.w && c.o.Format == FormatRGBA
	return c.count(ok && c.apply(img.Pix))
}

// ApplySamples filters one sound block (interleaved, w samples of h
// channels) in place, as Apply does a picture: false means it was bypassed
// and is unchanged.
func (c *Client) ApplySamples(s []float32) bool {
	ok := len(s) == c.w*c.h && c.o.Format == FormatF32
	return c.count(ok && c.apply(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 4*len(s))))
}

func (c *Client) count(filtered bool) bool {
	if filtered {
		c.filtered.Add(1)
		return true
	}
	c.bypassed.Add(1)
	return false
}

// apply filters pix through a slot: copied in, and out when the result
// is taken. The program's frames skip both copies (see Lend).
func (c *Client) apply(pix []byte) bool {
	ln := c.lend()
	if ln == nil {
		return false
	}
	defer ln.Return()
	copy(ln.pix, pix)
	if !c.send(ln) {
		return false
	}
	copy(pix, ln.pix)
	return true
}
