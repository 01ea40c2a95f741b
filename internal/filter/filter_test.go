package filter

import (
	"context"
	"image"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/onair-studio/onair/internal/testpeer"
)

// helperEnv makes the test binary a filter plugin process: the value is
// its behaviour, helperSocket where it listens.
const (
	helperEnv    = "ONAIR_FILTER_HELPER"
	helperSocket = "ONAIR_FILTER_SOCKET"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		runHelper(mode, os.Getenv(helperSocket))
		return
	}
	os.Exit(m.Run())
}

// runHelper is a filter plugin that inverts colours, or misbehaves as mode
// says.
func runHelper(mode, path string) {
	ln, err := Listen(path)
	if err != nil {
		panic(err)
	}
	invert := func(f Frame) error {
		for i := 0; i < len(f.Pix); i += 4 {
			f.Pix[i], f.Pix[i+1], f.Pix[i+2] = 255-f.Pix[i], 255-f.Pix[i+1], 255-f.Pix[i+2]
		}
		return nil
	}
	s := Server{Formats: []string{FormatRGBA}, Apply: invert}
	switch mode {
	case "halve": // a sound filter: every sample at half level
		s.Formats = []string{FormatF32}
		s.Apply = func(f Frame) error {
			samples := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(f.Pix))), len(f.Pix)/4)
			for i := range samples {
				samples[i] /= 2
			}
			return nil
		}
	case "pass":
		s.Apply = func(Frame) error { return nil }
	case "passsound":
		s.Formats, s.Apply = []string{FormatF32}, func(Frame) error { return nil }
	case "slow":
		s.Apply = func(f Frame) error { time.Sleep(time.Second); return invert(f) }
	case "hugeframe", "manyslots", "guard", "size", "torn":
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				panic(err)
			}
			hostile(mode, c)
			c.Close()
		}
	}
	if err := s.Serve(context.Background(), ln); err != nil {
		panic(err)
	}
}

// hostile speaks the protocol the way mode says a bad plugin might.
func hostile(mode string, c *net.UnixConn) {
	h, err := readHello(c)
	if err != nil {
		return
	}
	want := Layout{Format: FormatRGBA, Width: h.width, Height: h.height, Slots: 2}
	switch mode {
	case "hugeframe":
		want.Width, want.Height = 100000, 100000
	case "manyslots":
		want.Slots = 100000
	}
	if _, err := c.Write(marshalLayout(want)); err != nil {
		return
	}
	l, fd, err := readRing(c)
	if err != nil {
		return
	}
	mem, err := mapRing(fd, l)
	unix.Close(fd)
	if err != nil {
		return
	}
	defer unix.Munmap(mem)
	b := make([]byte, 64)
	for {
		n, err := c.Read(b)
		if err != nil {
			return
		}
		f, _ := parseFrame(b[:n])
		sl := l.slot(mem, f.slot)
		for i := range sl.pixels {
			sl.pixels[i] = 0x42
		}
		d := doneMsg{slot: f.slot, seq: f.seq, bytes: uint64(len(sl.pixels))}
		switch mode {
		case "guard": // garbage past the frame, into the guard
			sl.guard[7] = 0
			sl.setDone(f.seq)
		case "size":
			d.bytes += 4096
			sl.setDone(f.seq)
		case "torn": // answers before it finished: done is not this frame's
			sl.setDone(f.seq - 1)
		}
		if _, err := c.Write(d.marshal()); err != nil {
			return
		}
	}
}

func startHelper(t testing.TB, mode, path string) *testpeer.Proc {
	t.Helper()
	p := testpeer.StartProgram(t, nil, []string{helperEnv + "=" + mode, helperSocket + "=" + path}, os.Args[0])
	t.Cleanup(p.Stop)
	return p
}

func socketPath(t testing.TB) string {
	dir, err := os.MkdirTemp("", "onair-filter-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "f.sock")
}

func testFrame(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewSource(1))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Intn(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

func inverted(img *image.RGBA) []byte {
	out := slices.Clone(img.Pix)
	for i := 0; i < len(out); i += 4 {
		out[i], out[i+1], out[i+2] = 255-out[i], 255-out[i+1], 255-out[i+2]
	}
	return out
}

func dial(t *testing.T, path string, w, h int, deadline time.Duration) *Client {
	c := Dial(path, w, h, Options{Deadline: deadline})
	t.Cleanup(c.Close)
	return c
}

func awaitAttached(t testing.TB, c *Client, n uint64) {
	t.Helper()
	testpeer.Await(t, 20*time.Second, "the filter to attach", func() bool {
		st := c.Stats()
		return st.Connected && st.Attaches >= n
	})
}

// A filter in its own process changes the frame in place through the
// shared ring.
func TestFilterChangesFramesInAnotherProcess(t *testing.T) {
	path := socketPath(t)
	startHelper(t, "invert", path)
	c := dial(t, path, 64, 48, 5*time.Second)
	awaitAttached(t, c, 1)
	for i := 0; i < 5; i++ {
		img := testFrame(64, 48)
		want := inverted(img)
		if !c.Apply(img) {
			t.Fatalf("frame %d bypassed: %+v", i, c.Stats())
		}
		if !slices.Equal(img.Pix, want) {
			t.Fatalf("frame %d is not the filtered one", i)
		}
	}
	if st := c.Stats(); st.Filtered != 5 || st.Bypassed != 0 || st.WaitP50 <= 0 || st.WaitP99 < st.WaitP50 {
		t.Errorf("stats %+v, want 5 filtered, none bypassed, and their waits", st)
	}
}

// A filter slower than the deadline never holds a frame: each frame comes
// back unfiltered and is counted late and bypassed; a slot still with the
// plugin is never reused.
func TestSlowFilterIsBypassed(t *testing.T) {
	path := socketPath(t)
	startHelper(t, "slow", path)
	c := dial(t, path, 32, 32, 10*time.Millisecond)
	awaitAttached(t, c, 1)
	for i := 0; i < 6; i++ {
		img := testFrame(32, 32)
		orig := slices.Clone(img.Pix)
		if c.Apply(img) {
			t.Fatalf("frame %d filtered by a plugin that takes a second", i)
		}
		if !slices.Equal(img.Pix, orig) {
			t.Fatalf("frame %d changed although it was bypassed", i)
		}
	}
	st := c.Stats()
	if st.Bypassed != 6 || st.Late < 1 || st.Filtered != 0 || st.WaitP99 < 10*time.Millisecond {
		t.Errorf("stats %+v, want 6 bypassed, some late (waiting out their deadline)", st)
	}
}

// A plugin killed mid-stream costs only bypassed frames; a new process on
// the same socket is attached again on its own.
func TestCrashedFilterIsReattached(t *testing.T) {
	path := socketPath(t)
	p := startHelper(t, "invert", path)
	c := dial(t, path, 32, 32, 5*time.Second)
	awaitAttached(t, c, 1)
	if !c.Apply(testFrame(32, 32)) {
		t.Fatal("first frame bypassed")
	}
	if err := unix.Kill(p.PID(), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	testpeer.Await(t, 20*time.Second, "the client to see the plugin gone", func() bool { return !c.Stats().Connected })
	img := testFrame(32, 32)
	orig := slices.Clone(img.Pix)
	if c.Apply(img) || !slices.Equal(img.Pix, orig) {
		t.Fatal("a frame was changed while no plugin ran")
	}
	startHelper(t, "invert", path)
	awaitAttached(t, c, 2)
	img = testFrame(32, 32)
	want := inverted(img)
	if !c.Apply(img) || !slices.Equal(img.Pix, want) {
		t.Fatalf("the restarted plugin's frame is not filtered: %+v", c.Stats())
	}
}

// A plugin that asks for an absurd ring, or frames of another size, is
// refused at setup and never gets memory.
func TestHostileSetupIsRefused(t *testing.T) {
	for _, mode := range []string{"hugeframe", "manyslots"} {
		t.Run(mode, func(t *testing.T) {
			path := socketPath(t)
			startHelper(t, mode, path)
			c := dial(t, path, 32, 32, time.Second)
			testpeer.Await(t, 20*time.Second, "the refusal", func() bool {
				return strings.Contains(c.Stats().Err, "refused at setup")
			})
			if st := c.Stats(); st.Attaches != 0 || c.Apply(testFrame(32, 32)) {
				t.Errorf("a hostile plugin was attached: %+v", st)
			}
		})
	}
}

// Results written past the frame, of the wrong size, or answered for
// another frame are refused: the frame airs unfiltered, unchanged.
func TestBadResultsAreBypassed(t *testing.T) {
	for _, mode := range []string{"guard", "size", "torn"} {
		t.Run(mode, func(t *testing.T) {
			path := socketPath(t)
			startHelper(t, mode, path)
			c := dial(t, path, 32, 32, 5*time.Second)
			awaitAttached(t, c, 1)
			img := testFrame(32, 32)
			orig := slices.Clone(img.Pix)
			if c.Apply(img) {
				t.Fatal("a bad result was taken")
			}
			if !slices.Equal(img.Pix, orig) {
				t.Fatal("the bypassed frame changed")
			}
			if st := c.Stats(); st.Rejected != 1 || st.Bypassed != 1 || !strings.Contains(st.Err, "refused") {
				t.Errorf("stats %+v, want one rejected result", st)
			}
		})
	}
}

func TestLayoutLimits(t *testing.T) {
	for _, l := range []Layout{
		{Format: "bgra", Width: 8, Height: 8, Slots: 2},
		{Format: FormatRGBA, Width: 0, Height: 8, Slots: 2},
		{Format: FormatRGBA, Width: 100000, Height: 8, Slots: 2},
		{Format: FormatRGBA, Width: 8, Height: 8, Slots: 1000},
		{Format: FormatRGBA, Width: 8192, Height: 8192, Slots: 8},
	} {
		if err := l.Check(); err == nil {
			t.Errorf("layout %+v accepted", l)
		}
	}
	if err := (Layout{Format: FormatI420, Width: 1920, Height: 1080, Slots: 3}).Check(); err != nil {
		t.Errorf("a 1080p I420 ring refused: %v", err)
	}
}

// An encoder that connected and then hung (here: a peer that says hello
// and nothing more) cannot keep a new one from being served.
func TestNewestEncoderIsServed(t *testing.T) {
	path := socketPath(t)
	startHelper(t, "invert", path)
	var hung *net.UnixConn
	testpeer.Await(t, 20*time.Second, "the plugin listening", func() bool {
		c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
		if err != nil {
			return false
		}
		hung = c
		return true
	})
	defer hung.Close()
	if _, err := hung.Write(hello{width: 8, height: 8, formats: []string{FormatRGBA}}.marshal()); err != nil {
		t.Fatal(err)
	}
	c := dial(t, path, 32, 32, 5*time.Second)
	awaitAttached(t, c, 1)
	img := testFrame(32, 32)
	want := inverted(img)
	if !c.Apply(img) || !slices.Equal(img.Pix, want) {
		t.Fatalf("the new encoder's frame was not filtered: %+v", c.Stats())
	}
}

// A sound block travels the same ring: the plugin changes the samples in
// place; a video filter is refused for sound at setup, so the block passes
// untouched.
func TestSoundBlocksThroughTheRing(t *testing.T) {
	path := socketPath(t)
	startHelper(t, "halve", path)
	c := Dial(path, 1024, 2, Options{Format: FormatF32, Deadline: 5 * time.Second})
	t.Cleanup(c.Close)
	awaitAttached(t, c, 1)
	block := make([]float32, 2048)
	for i := range block {
		block[i] = float32(i%200)/100 - 1
	}
	want := slices.Clone(block)
	for i := range want {
		want[i] /= 2
	}
	if !c.ApplySamples(block) || !slices.Equal(block, want) {
		t.Fatalf("the block is not the filtered one: %+v", c.Stats())
	}
	if c.ApplySamples(make([]float32, 100)) {
		t.Error("a block of the wrong length was filtered")
	}

	video := socketPath(t)
	startHelper(t, "invert", video)
	v := Dial(video, 1024, 2, Options{Format: FormatF32, Deadline: 5 * time.Second})
	t.Cleanup(v.Close)
	testpeer.Await(t, 20*time.Second, "the refusal", func() bool {
		return v.Stats().Attaches == 0 && v.Stats().Err != "" && !strings.Contains(v.Stats().Err, "waiting")
	})
	orig := slices.Clone(block)
	if v.ApplySamples(block) || !slices.Equal(block, orig) {
		t.Error("a video filter changed a sound block")
	}
}

// The program's frame is drawn straight into a lent slot and the result
// read where the plugin left it: no copy either way.
func TestLentFrameIsFilteredInPlace(t *testing.T) {
	path := socketPath(t)
	startHelper(t, "invert", path)
	c := dial(t, path, 64, 48, 5*time.Second)
	awaitAttached(t, c, 1)
	for i := 0; i < 3; i++ {
		ln := c.Lend()
		if ln == nil {
			t.Fatalf("frame %d: no slot lent: %+v", i, c.Stats())
		}
		img := testFrame(64, 48)
		copy(ln.Image().Pix, img.Pix)
		if !ln.Filter() || !slices.Equal(ln.Image().Pix, inverted(img)) {
			t.Fatalf("frame %d: the lent slot does not hold the filtered frame: %+v", i, c.Stats())
		}
		ln.Return()
	}
	if st := c.Stats(); st.Filtered != 3 || st.Bypassed != 0 {
		t.Errorf("stats %+v, want 3 filtered", st)
	}
}

// ringMappings counts this process's mappings of filter rings.
func ringMappings(t *testing.T) int {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(maps), "memfd:onair-filter")
}

// A plugin killed, or a filter closed, while the compositor still shows
// a frame from its slot leaves that frame readable: the ring is unmapped
// only when the slot is given back.
func TestLentSlotOutlivesItsPlugin(t *testing.T) {
	path := socketPath(t)
	p := startHelper(t, "invert", path)
	c := dial(t, path, 64, 48, 5*time.Second)
	awaitAttached(t, c, 1)
	ln := c.Lend()
	if ln == nil {
		t.Fatal("no slot lent")
	}
	img := testFrame(64, 48)
	copy(ln.Image().Pix, img.Pix)
	if !ln.Filter() {
		t.Fatalf("bypassed: %+v", c.Stats())
	}
	if err := unix.Kill(p.PID(), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	testpeer.Await(t, 20*time.Second, "the client to see the plugin gone", func() bool { return !c.Stats().Connected })
	mapped := ringMappings(t)
	if !slices.Equal(ln.Image().Pix, inverted(img)) { // faults if unmapped
		t.Fatal("the lent frame changed after its plugin died")
	}
	if c.Lend() != nil {
		t.Error("a slot was lent with no plugin attached")
	}
	ln.Return()
	// The connection is released just after it is seen gone; whichever of
	// that and the slot's return comes last unmaps the ring.
	testpeer.Await(t, 20*time.Second, "the ring unmapped after the last slot came back", func() bool {
		return ringMappings(t) == mapped-1
	})

	// The same when the filter is closed (taken out of the configuration).
	path = socketPath(t)
	startHelper(t, "invert", path)
	closing := Dial(path, 64, 48, Options{Deadline: 5 * time.Second})
	awaitAttached(t, closing, 1)
	if ln = closing.Lend(); ln == nil {
		t.Fatal("no slot lent")
	}
	copy(ln.Image().Pix, img.Pix)
	if !ln.Filter() {
		t.Fatalf("bypassed: %+v", closing.Stats())
	}
	closing.Close()
	mapped = ringMappings(t)
	if !slices.Equal(ln.Image().Pix, inverted(img)) {
		t.Fatal("the lent frame changed after its filter was closed")
	}
	ln.Return()
	if n := ringMappings(t); n != mapped-1 {
		t.Errorf("%d ring mappings after the slot of a closed filter came back, want %d", n, mapped-1)
	}
}
