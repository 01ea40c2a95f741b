package filter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// Frame is one frame handed to a filter. Pix is the frame in the ring
// (Layout.FrameBytes long, in Layout.Format); the filter changes it in
// place and must not keep it after returning.
type Frame struct {
	Layout Layout
	Pix    []byte
	Seq    uint64
}

// Server is the plugin's end: it listens where the pluginhost says and
// filters the frames of whichever encoder connects.
type Server struct {
	// Formats the filter handles, the one it prefers first.
	Formats []string
	// Slots is how many frames the plugin lets be in flight (default 2).
	Slots int
	// Apply filters one frame; an error airs that frame unfiltered.
	Apply func(Frame) error
	// Logf reports a connection that ended badly; nil drops it.
	Logf func(format string, a ...any)
}

// Listen listens on the unix socket at path, replacing a stale socket a
// killed process left there.
func Listen(path string) (*net.UnixListener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(true)
	return ln, os.Chmod(path, 0o600)
}

// Serve serves the encoder that connected last until ctx ends or ln is
// closed: a new connection (a restarted or spare encoder, a new frame size)
// replaces the one before, whose peer may be hung.
func (s Server) Serve(ctx context.Context, ln *net.UnixListener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var cur *net.UnixConn
	defer func() {
		if cur != nil {
			cur.Close()
		}
	}()
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if cur != nil {
			cur.Close() // its goroutine ends at its next read or write
		}
		cur = c
		go func() {
			if err := s.serveConn(c); err != nil && s.Logf != nil {
				s.Logf("filter connection ended: %v", err)
			}
			c.Close()
		}()
	}
}

func (s Server) serveConn(c *net.UnixConn) error {
	h, err := readHello(c)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(s.Formats, func(f string) bool { return slices.Contains(h.formats, f) })
	if i < 0 {
		return fmt.Errorf("the encoder offers %v, this filter takes %v", h.formats, s.Formats)
	}
	slots := s.Slots
	if slots == 0 {
		slots = 2
	}
	want := Layout{Format: s.Formats[i], Width: h.width, Height: h.height, Slots: slots}
	if _, err := c.Write(marshalLayout(want)); err != nil {
		return err
	}
	l, fd, err := readRing(c)
	if err != nil {
		return err
	}
	mem, err := mapRing(fd, l)
	unix.Close(fd)
	if err != nil {
		return err
	}
	defer unix.Munmap(mem)
	b := make([]byte, 64)
	for {
		n, err := c.Read(b)
		if err != nil {
			return err
		}
		f, err := parseFrame(b[:n])
		if err != nil {
			return err
		}
		d := doneMsg{slot: f.slot, seq: f.seq, status: 1}
		if f.slot >= 0 && f.slot < l.Slots {
			sl := l.slot(mem, f.slot)
			if sl.seq() == f.seq && f.seq%2 == 0 {
				if s.Apply(Frame{Layout: l, Pix: sl.pixels, Seq: f.seq}) == nil {
					d.status, d.bytes = statusOK, uint64(len(sl.pixels))
				}
				sl.setDone(f.seq)
			}
		}
		if _, err := c.Write(d.marshal()); err != nil {
			return err
		}
	}
}

// readRing reads the ring message and its memfd, checking the layout.
func readRing(c *net.UnixConn) (Layout, int, error) {
	b, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := c.ReadMsgUnix(b, oob)
	if err != nil {
		return Layout{}, -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return Layout{}, -1, fmt.Errorf("the ring message carries no memory (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return Layout{}, -1, fmt.Errorf("the ring message carries %d descriptors (%v)", len(fds), err)
	}
	l, err := parseLayout(b[:n])
	if err == nil {
		err = l.Check()
	}
	if err != nil {
		unix.Close(fds[0])
		return Layout{}, -1, err
	}
	return l, fds[0], nil
}

// mapRing maps a ring of layout l, refusing memory of another size.
func mapRing(fd int, l Layout) ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Size != int64(l.Size()) {
		return nil, fmt.Errorf("the ring's memory is %d bytes, its layout needs %d", st.Size, l.Size())
	}
	return unix.Mmap(fd, 0, l.Size(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

// newRing makes the sealed memory of a ring: it cannot shrink or grow, so a
// plugin cannot make the encoder fault on it.
func newRing(l Layout) (fd int, mem []byte, err error) {
	fd, err = unix.MemfdCreate("onair-filter", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, nil, err
	}
	fail := func(err error) (int, []byte, error) {
		unix.Close(fd)
		return -1, nil, err
	}
	if err := unix.Ftruncate(fd, int64(l.Size())); err != nil {
		return fail(err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		return fail(fmt.Errorf("sealing the ring: %w", err))
	}
	mem, err = unix.Mmap(fd, 0, l.Size(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail(err)
	}
	for i := 0; i < l.Slots; i++ {
		sl := l.slot(mem, i)
		for j := range sl.guard {
			sl.guard[j] = guardByte
		}
	}
	return fd, mem, nil
}
