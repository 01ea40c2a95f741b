package filter

import (
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// conn is one attached connection and its ring. Frames are sent and
// answers read on the compositor's goroutine, under mu: an answer wakes
// that goroutine once, with no reader goroutine in between.
type conn struct {
	client *Client
	c      *net.UnixConn
	raw    syscall.RawConn
	l      Layout

	// mu guards the slots' state, the ring's mapping and the socket's
	// reads; it is held while a frame waits for its answer.
	mu       sync.Mutex
	gone     bool   // released: unmap once no slot is lent
	mem      []byte // nil once unmapped
	loans    []Loan // one per slot
	inFlight int    // frames with the plugin, not answered yet
	buf      [64]byte

	dead   chan struct{} // closed when the connection fails
	once   sync.Once
	failed error
}

// Loan is a ring slot lent to the caller: the frame is drawn straight
// into it, filtered in place and read where the plugin left it. It is
// valid until Return, even if the plugin goes away meanwhile.
type Loan struct {
	cn  *conn
	i   int
	sl  slot
	pix []byte
	img image.RGBA // over pix, for RGBA frames
	seq uint64     // this frame's sequence number (even)
	// lent: the caller holds the slot. pending: the sequence number the
	// plugin has the slot for, 0 when it has not. A slot is free when
	// neither.
	lent    bool
	pending uint64
}

func newConn(c *Client, nc *net.UnixConn, l Layout, mem []byte) (*conn, error) {
	raw, err := nc.SyscallConn()
	if err != nil {
		nc.Close()
		unix.Munmap(mem)
		return nil, err
	}
	cn := &conn{client: c, c: nc, raw: raw, l: l, mem: mem, loans: make([]Loan, l.Slots), dead: make(chan struct{})}
	for i := range cn.loans {
		sl := l.slot(mem, i)
		cn.loans[i] = Loan{cn: cn, i: i, sl: sl, pix: sl.pixels}
		if l.Format == FormatRGBA {
			cn.loans[i].img = image.RGBA{Pix: sl.pixels, Stride: 4 * l.Width, Rect: image.Rect(0, 0, l.Width, l.Height)}
		}
	}
	return cn, nil
}

// fail marks the connection dead; the client's background loop then
// releases it and connects again.
func (cn *conn) fail(err error) {
	cn.once.Do(func() {
		cn.failed = err
		close(cn.dead)
	})
}

func (cn *conn) isDead() bool {
	select {
	case <-cn.dead:
		return true
	default:
		return false
	}
}

// hungUp reports whether the plugin closed its end, without reading
// (frames may be waiting for their answers on another goroutine).
func (cn *conn) hungUp() bool {
	fds := []unix.PollFd{{Events: unix.POLLRDHUP}}
	var n int
	var perr error
	err := cn.raw.Control(func(fd uintptr) {
		fds[0].Fd = int32(fd)
		n, perr = unix.Poll(fds, 0)
	})
	return err != nil || perr == nil && n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLRDHUP) != 0
}

// release closes the connection, and unmaps the ring unless a slot is
// still lent (then its Return does).
func (cn *conn) release() {
	cn.c.Close() // ends a wait for an answer at once
	cn.mu.Lock()
	defer cn.mu.Unlock()
	cn.gone = true
	cn.unmapIfUnused()
}

// unmapIfUnused unmaps a released ring nobody reads any more. The caller
// holds mu.
func (cn *conn) unmapIfUnused() {
	if !cn.gone || cn.mem == nil {
		return
	}
	for i := range cn.loans {
		if cn.loans[i].lent {
			return
		}
	}
	unix.Munmap(cn.mem)
	cn.mem = nil
}

// answered takes one answer in: its slot is back from the plugin. An
// answer for a frame the plugin does not have breaks the protocol.
func (cn *conn) answered(d doneMsg) error {
	if d.slot < 0 || d.slot >= len(cn.loans) || d.seq == 0 || cn.loans[d.slot].pending != d.seq {
		return fmt.Errorf("an answer for slot %d, frame %d, which the plugin was not given", d.slot, d.seq)
	}
	cn.loans[d.slot].pending = 0
	cn.inFlight--
	return nil
}

// drain takes in, without waiting, the answers of late frames that came
// since, so their slots are free again. The caller holds mu.
func (cn *conn) drain() error {
	for cn.inFlight > 0 {
		var n int
		var rerr error
		err := cn.raw.Control(func(fd uintptr) { n, rerr = unix.Read(int(fd), cn.buf[:]) })
		if err == nil {
			err = rerr
		}
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return nil
		case err != nil:
			return err
		case n == 0:
			return io.EOF
		}
		d, err := parseDone(cn.buf[:n])
		if err == nil {
			err = cn.answered(d)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Lend reserves a free slot for a frame drawn straight into it, so that
// neither copy of Apply is made: draw into Image, call Filter, read the
// result in place, then Return the loan. Nil when the plugin is not
// attached, every slot is busy, or the frames are not RGBA: Apply then
// filters (or bypasses) a copy.
func (c *Client) Lend() *Loan {
	if c.o.Format != FormatRGBA {
		return nil
	}
	return c.lend()
}

func (c *Client) lend() *Loan {
	cn := c.cur.Load()
	if cn == nil {
		return nil
	}
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.gone || cn.isDead() {
		return nil
	}
	if err := cn.drain(); err != nil {
		cn.fail(err)
		return nil
	}
	for i := range cn.loans {
		ln := &cn.loans[i]
		if ln.lent || ln.pending != 0 {
			continue
		}
		c.seq += 2
		ln.seq, ln.lent = c.seq, true
		ln.sl.setSeq(ln.seq - 1) // odd: being written
		return ln
	}
	return nil
}

// Image is the loan's frame, RGBA of the client's size.
func (ln *Loan) Image() *image.RGBA { return &ln.img }

// Filter hands the frame drawn into the loan to the plugin and waits at
// most the deadline. True: the loan holds the filtered frame, checked
// whole and right. False: the frame is bypassed, and the loan's pixels
// must not be shown: a late plugin may still be writing them.
func (ln *Loan) Filter() bool {
	c := ln.cn.client
	return c.count(c.send(ln))
}

// Return gives the slot back; its pixels must not be read after. A ring
// whose plugin went away while the slot was lent is unmapped here.
func (ln *Loan) Return() {
	cn := ln.cn
	cn.mu.Lock()
	defer cn.mu.Unlock()
	ln.lent = false
	cn.unmapIfUnused()
}

// send sends the loan's frame and waits for its answer, reading on this
// goroutine until the deadline. Late frames' answers that come first are
// thrown away.
func (c *Client) send(ln *Loan) bool {
	cn := ln.cn
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.gone || cn.isDead() || !ln.lent || ln.pending != 0 {
		return false
	}
	ln.sl.setSeq(ln.seq) // even: whole
	sent := time.Now()
	// One deadline for both ways: a plugin that stopped reading cannot
	// block the write either.
	if err := cn.c.SetDeadline(sent.Add(c.o.Deadline)); err != nil {
		cn.fail(err)
		return false
	}
	if _, err := cn.c.Write(frameMsg{slot: ln.i, seq: ln.seq}.marshal()); err != nil {
		cn.fail(err)
		return false
	}
	ln.pending = ln.seq
	cn.inFlight++
	for {
		n, err := cn.c.Read(cn.buf[:])
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.waited(time.Since(sent))
			c.late.Add(1)
			return false
		}
		var d doneMsg
		if err == nil {
			d, err = parseDone(cn.buf[:n])
		}
		if err == nil {
			err = cn.answered(d)
		}
		if err != nil {
			cn.fail(err)
			return false
		}
		if d.slot == ln.i && d.seq == ln.seq {
			c.waited(time.Since(sent))
			return c.check(ln, d)
		}
	}
}

// check takes a result only if it is whole and right.
func (c *Client) check(ln *Loan, d doneMsg) bool {
	reject := func(why string) bool {
		c.rejected.Add(1)
		c.setErr(errors.New("filter result refused: " + why))
		return false
	}
	switch {
	case d.status != statusOK:
		return reject("the filter failed on the frame")
	case d.bytes != uint64(len(ln.pix)):
		return reject(fmt.Sprintf("it wrote %d bytes into a frame of %d", d.bytes, len(ln.pix)))
	case ln.sl.done() != d.seq || ln.sl.seq() != d.seq:
		return reject("the slot changed under the answer")
	case !ln.sl.guardIntact():
		return reject("it wrote past its frame")
	}
	// A plugin that answered has finished with the slot; the done word
	// checked above shows it finished this frame, not an older one.
	return true
}
