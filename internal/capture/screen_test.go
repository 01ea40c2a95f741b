//go:build linux

package capture

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/res"
	"github.com/jezek/xgb/xproto"
	"github.com/onair-studio/onair/internal/capture/xvfb"
)

// startX runs a private Xvfb for the test and points $DISPLAY at it.
func startX(t *testing.T, w, h int, extra ...string) *xvfb.Server {
	t.Helper()
	srv, err := xvfb.Start(w, h, extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	t.Setenv("DISPLAY", srv.Display)
	return srv
}

// knownPicture is a picture in which every pixel differs from its
// neighbours, so any offset or channel swap shows.
func knownPicture(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), uint8(x>>8*64 + y>>8*16 + (x+y)%16), 255})
		}
	}
	return img
}

// setRoot shows img as the root window's background with ImageMagick.
func setRoot(t *testing.T, img *image.RGBA) {
	t.Helper()
	if _, err := exec.LookPath("display"); err != nil {
		t.Fatal("ImageMagick's display is not installed (Debian package imagemagick)")
	}
	file := filepath.Join(t.TempDir(), "root.png")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// display exits with status 1 even when it has set the background, so
	// success is judged by what the screen shows.
	out, _ := exec.Command("display", "-window", "root", file).CombinedOutput()
	src, err := Open("screen")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := image.NewRGBA(img.Bounds())
	waitFor(t, 10*time.Second, func() bool {
		return src.Read(got, 0, time.Time{}) == nil && got.RGBAAt(10, 10) == img.RGBAAt(10, 10)
	}, "root background set by display; its output: %s", out)
}

func waitFor(t *testing.T, limit time.Duration, cond func() bool, format string, a ...any) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for "+format, append([]any{limit}, a...)...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// diffAt returns the first pixel where got differs from want (offset by at),
// or "".
func diffAt(got, want *image.RGBA, at image.Point) string {
	b := got.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if g, w := got.RGBAAt(x, y), want.RGBAAt(x+at.X, y+at.Y); g != w {
				return fmt.Sprintf("pixel %d,%d: got %v, want %v", x, y, g, w)
			}
		}
	}
	return ""
}

// shmSegments counts the SysV shared-memory segments this process created.
func shmSegments(t *testing.T) int { return shmSegmentsOf(t, os.Getpid()) }

// shmSegmentsOf counts the segments that process pid created.
func shmSegmentsOf(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open("/proc/sysvipc/shm")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	me := strconv.Itoa(pid)
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && fields[4] == me {
			n++
		}
	}
	return n
}

// xClients returns the server's clients (X-Resource), by resource id base.
func xClients(t *testing.T, c *xgb.Conn) map[uint32]bool {
	t.Helper()
	r, err := res.QueryClients(c).Reply()
	if err != nil {
		t.Fatal(err)
	}
	set := make(map[uint32]bool)
	for _, cl := range r.Clients {
		set[cl.ResourceBase] = true
	}
	return set
}

// newClients lists the clients in now that were not in before.
func newClients(before, now map[uint32]bool) []uint32 {
	var out []uint32
	for id := range now {
		if !before[id] {
			out = append(out, id)
		}
	}
	return out
}

// testWindow maps a 320×240 window titled title at x,y: blue, with a red
// 100×50 child in its top-left corner so orientation shows.
func testWindow(t *testing.T, c *xgb.Conn, title string, x, y int16) xproto.Window {
	t.Helper()
	scr := xproto.Setup(c).DefaultScreen(c)
	mk := func(parent xproto.Window, x, y int16, w, h uint16, pixel uint32) xproto.Window {
		id, err := xproto.NewWindowId(c)
		if err != nil {
			t.Fatal(err)
		}
		err = xproto.CreateWindowChecked(c, scr.RootDepth, id, parent, x, y, w, h, 0,
			xproto.WindowClassInputOutput, scr.RootVisual,
			xproto.CwBackPixel|xproto.CwOverrideRedirect, []uint32{pixel, 1}).Check()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	win := mk(scr.Root, x, y, 320, 240, 0x3366cc)
	child := mk(win, 0, 0, 100, 50, 0xcc0000)
	if err := xproto.ChangePropertyChecked(c, xproto.PropModeReplace, win, xproto.AtomWmName,
		xproto.AtomString, 8, uint32(len(title)), []byte(title)).Check(); err != nil {
		t.Fatal(err)
	}
	xproto.MapWindow(c, child)
	if err := xproto.MapWindowChecked(c, win).Check(); err != nil {
		t.Fatal(err)
	}
	return win
}

func checkWindowPicture(t *testing.T, got *image.RGBA) {
	t.Helper()
	blue, red := color.RGBA{0x33, 0x66, 0xcc, 255}, color.RGBA{0xcc, 0, 0, 255}
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			want := blue
			if x < 100 && y < 50 {
				want = red
			}
			if g := got.RGBAAt(x, y); g != want {
				t.Fatalf("window pixel %d,%d: got %v, want %v", x, y, g, want)
			}
		}
	}
}

func TestScreenCapture(t *testing.T) {
	srv := startX(t, 1280, 720)
	pic := knownPicture(1280, 720)
	setRoot(t, pic)

	t.Run("whole screen", func(t *testing.T) {
		src, err := Open("screen")
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if !UsesSHM(src) {
			t.Error("MIT-SHM not used under Xvfb")
		}
		if got := src.Size(); got != image.Pt(1280, 720) {
			t.Errorf("size %v", got)
		}
		got := image.NewRGBA(image.Rect(0, 0, 1280, 720))
		if err := src.Read(got, 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if d := diffAt(got, pic, image.Point{}); d != "" {
			t.Fatal(d)
		}
		// Scaled to half size by nearest neighbour: pixel centres map to
		// pixel centres, so dst x,y shows src 2x+1,2y+1.
		half := image.NewRGBA(image.Rect(0, 0, 640, 360))
		if err := src.Read(half, 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []image.Point{{0, 0}, {17, 33}, {639, 359}, {320, 200}} {
			if g, w := half.RGBAAt(p.X, p.Y), pic.RGBAAt(2*p.X+1, 2*p.Y+1); g != w {
				t.Errorf("half size %v: got %v, want %v", p, g, w)
			}
		}
	})

	t.Run("display and region", func(t *testing.T) {
		for _, tc := range []struct {
			spec string
			at   image.Point
			size image.Point
		}{
			{"screen:0", image.Pt(0, 0), image.Pt(1280, 720)},
			{"screen:0:100,50,640x360", image.Pt(100, 50), image.Pt(640, 360)},
			{"screen:0:1,2,3x4", image.Pt(1, 2), image.Pt(3, 4)},
		} {
			src, err := Open(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			got := image.NewRGBA(image.Rectangle{Max: src.Size()})
			err = src.Read(got, 0, time.Time{})
			src.Close()
			if err != nil {
				t.Fatalf("%s: %v", tc.spec, err)
			}
			if got.Bounds().Size() != tc.size {
				t.Fatalf("%s: size %v, want %v", tc.spec, got.Bounds().Size(), tc.size)
			}
			if d := diffAt(got, pic, tc.at); d != "" {
				t.Fatalf("%s: %s", tc.spec, d)
			}
		}
	})

	t.Run("region partly off screen", func(t *testing.T) {
		src, err := Open("screen:0:1200,680,160x80")
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		got := image.NewRGBA(image.Rect(0, 0, 160, 80))
		if err := src.Read(got, 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if d := diffAt(got.SubImage(image.Rect(0, 0, 80, 40)).(*image.RGBA), pic, image.Pt(1200, 680)); d != "" {
			t.Fatal(d)
		}
		black := color.RGBA{0, 0, 0, 255}
		for _, p := range []image.Point{{80, 0}, {159, 79}, {0, 40}, {100, 20}} {
			if g := got.RGBAAt(p.X, p.Y); g != black {
				t.Errorf("off-screen pixel %v: got %v, want black", p, g)
			}
		}
	})

	t.Run("window", func(t *testing.T) {
		c, err := xgb.NewConnDisplay(srv.Display)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		win := testWindow(t, c, "onair capture test", 200, 150)
		for _, spec := range []string{"window:onair capture test", "window:capture te", fmt.Sprintf("window:0x%x", uint32(win))} {
			src, err := Open(spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := src.Size(); got != image.Pt(320, 240) {
				t.Fatalf("%s: size %v", spec, got)
			}
			got := image.NewRGBA(image.Rect(0, 0, 320, 240))
			waitFor(t, 5*time.Second, func() bool {
				return src.Read(got, 0, time.Time{}) == nil && got.RGBAAt(319, 239) == color.RGBA{0x33, 0x66, 0xcc, 255}
			}, "window %s drawn", spec)
			checkWindowPicture(t, got)
			src.Close()
		}

		// The capture follows the window when it moves.
		src, err := Open("window:onair capture test")
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		xproto.ConfigureWindow(c, win, xproto.ConfigWindowX|xproto.ConfigWindowY, []uint32{700, 400})
		waitFor(t, 5*time.Second, func() bool {
			r, err := src.(*screenSource).windowRect()
			return err == nil && r.Min == image.Pt(700, 400)
		}, "window moved")
		got := image.NewRGBA(image.Rect(0, 0, 320, 240))
		waitFor(t, 5*time.Second, func() bool {
			return src.Read(got, 0, time.Time{}) == nil && got.RGBAAt(319, 239) == color.RGBA{0x33, 0x66, 0xcc, 255}
		}, "moved window drawn")
		checkWindowPicture(t, got)

		// A window that goes away is an error, not a panic or a hang.
		xproto.DestroyWindowChecked(c, win).Check()
		if err := src.Read(got, 0, time.Time{}); err == nil {
			t.Error("capture of a destroyed window did not fail")
		}

		if _, err := Open("window:no such window here"); err == nil || !strings.Contains(err.Error(), `no window titled "no such window here"`) {
			t.Errorf("missing window: %v", err)
		}
	})

	t.Run("one connection and one segment", func(t *testing.T) {
		c, err := xgb.NewConnDisplay(srv.Display)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := res.Init(c); err != nil {
			t.Fatal(err)
		}
		// Clients of earlier tests may still be leaving, so the check is
		// that exactly one new client (the source's) appears and stays.
		segs0, clients0 := shmSegments(t), xClients(t, c)

		src, err := Open("screen:0:0,0,320x180")
		if err != nil {
			t.Fatal(err)
		}
		ours := xproto.Setup(src.(*screenSource).conn).ResourceIdBase
		checkOne := func(when string) {
			t.Helper()
			if n := shmSegments(t); n != segs0+1 {
				t.Fatalf("%s: %d segments, want %d", when, n, segs0+1)
			}
			// A leaving client's id may be handed to ours, so ours need
			// not be new; what must hold is that ours is there and no
			// other client appeared.
			now := xClients(t, c)
			present := now[ours]
			delete(now, ours)
			if added := newClients(clients0, now); len(added) != 0 || !present {
				t.Fatalf("%s: other new X clients %#x, or the source's %#x missing", when, added, ours)
			}
		}
		checkOne("after open")
		dst := image.NewRGBA(image.Rect(0, 0, 320, 180))
		for i := 0; i < 100; i++ {
			if err := src.Read(dst, int64(i), time.Time{}); err != nil {
				t.Fatal(err)
			}
			if i%25 == 0 {
				checkOne(fmt.Sprintf("capture %d", i))
			}
		}
		allocs := testing.AllocsPerRun(20, func() { src.Read(dst, 0, time.Time{}) })
		t.Logf("%.0f allocations per capture (xgb's request and reply buffers)", allocs)
		if allocs > 30 {
			t.Errorf("%.0f allocations per capture; the frame must not be one of them", allocs)
		}
		checkOne("after many captures")
		if err := src.Close(); err != nil {
			t.Fatal(err)
		}
		if n := shmSegments(t); n != segs0 {
			t.Errorf("after close: %d segments, want %d", n, segs0)
		}
		waitFor(t, 5*time.Second, func() bool { return !xClients(t, c)[ours] }, "the source's X connection to close")
		if err := src.Read(dst, 0, time.Time{}); err == nil {
			t.Error("read after close succeeded")
		}
		if err := src.Close(); err != nil {
			t.Errorf("second close: %v", err)
		}
	})

	t.Run("displays", func(t *testing.T) {
		ds, err := Displays()
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || ds[0] != image.Rect(0, 0, 1280, 720) {
			t.Errorf("displays %v", ds)
		}
		if _, err := Open("screen:1"); err == nil || !strings.Contains(err.Error(), "display 1 not found") {
			t.Errorf("screen:1 on a one-monitor screen: %v", err)
		}
		if _, err := Open("screen:0:2000,0,10x10"); err == nil || !strings.Contains(err.Error(), "outside the screen") {
			t.Errorf("region off screen: %v", err)
		}
	})
}

// Without MIT-SHM the source falls back to plain GetImage and captures the
// same pictures.
func TestScreenWithoutSHM(t *testing.T) {
	srv := startX(t, 640, 480, "-extension", "MIT-SHM")
	c, err := xgb.NewConnDisplay(srv.Display)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	testWindow(t, c, "no shm", 300, 200)
	segs := shmSegments(t)
	src, err := Open("window:no shm")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if UsesSHM(src) || shmSegments(t) != segs {
		t.Fatal("shared memory used although the server has no MIT-SHM")
	}
	got := image.NewRGBA(image.Rect(0, 0, 320, 240))
	waitFor(t, 5*time.Second, func() bool {
		return src.Read(got, 0, time.Time{}) == nil && got.RGBAAt(319, 239) == color.RGBA{0x33, 0x66, 0xcc, 255}
	}, "window drawn")
	checkWindowPicture(t, got)
	// Partly off screen (the window reaches x=620, y=440), scaled to half.
	part, err := Open("screen:0:400,300,320x240")
	if err != nil {
		t.Fatal(err)
	}
	defer part.Close()
	half := image.NewRGBA(image.Rect(0, 0, 160, 120))
	if err := part.Read(half, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if g := half.RGBAAt(50, 50); g != (color.RGBA{0x33, 0x66, 0xcc, 255}) {
		t.Errorf("inside the window: %v", g)
	}
	if g := half.RGBAAt(150, 110); g != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("off screen: %v", g)
	}
}

func TestScreenNoDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	_, err := Open("screen")
	if !errors.Is(err, ErrNoDisplay) {
		t.Fatalf("no DISPLAY: %v", err)
	}
	if _, err := Open("window:x"); !errors.Is(err, ErrNoDisplay) {
		t.Errorf("window with no DISPLAY: %v", err)
	}
	if _, err := Displays(); !errors.Is(err, ErrNoDisplay) {
		t.Errorf("Displays with no DISPLAY: %v", err)
	}
	// A display nobody serves.
	t.Setenv("DISPLAY", ":4093")
	_, err = Open("screen:0")
	if err == nil || !strings.Contains(err.Error(), `cannot open X display ":4093"`) {
		t.Errorf("unreachable display: %v", err)
	}
}

func TestScreenServerDies(t *testing.T) {
	srv := startX(t, 320, 240)
	src, err := Open("screen")
	if err != nil {
		t.Fatal(err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, 320, 240))
	if err := src.Read(dst, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	done := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 5 && err == nil; i++ { // the first may race the socket closing
			err = src.Read(dst, 0, time.Time{})
		}
		src.Close()
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("capture from a dead X server succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("capture from a dead X server hangs")
	}
}

// The segment is marked for removal as soon as the server has attached it,
// so a capturing process that is killed (as a crashing encoder is) leaks
// nothing: the kernel frees the segment when the server lets go.
func TestSHMFreedWhenKilled(t *testing.T) {
	startX(t, 320, 240)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldScreen$")
	cmd.Env = append(os.Environ(), "ONAIR_CAPTURE_HELPER=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "capturing") {
				ready <- sc.Text()
				return
			}
		}
		close(ready)
	}()
	select {
	case line, ok := <-ready:
		if !ok {
			t.Fatal("helper process ended before capturing")
		}
		t.Log("helper:", line)
	case <-time.After(20 * time.Second):
		t.Fatal("helper process not capturing after 20 s")
	}
	pid := cmd.Process.Pid
	if n := shmSegmentsOf(t, pid); n != 1 {
		t.Fatalf("capturing process holds %d segments, want 1", n)
	}
	cmd.Process.Kill()
	cmd.Wait()
	waitFor(t, 10*time.Second, func() bool { return shmSegmentsOf(t, pid) == 0 }, "the killed process's segment to be freed")
}

// TestHelperHoldScreen is the process TestSHMFreedWhenKilled kills: it
// opens a screen source, captures, says so, and waits.
func TestHelperHoldScreen(t *testing.T) {
	if os.Getenv("ONAIR_CAPTURE_HELPER") != "1" {
		return
	}
	src, err := Open("screen")
	if err != nil {
		t.Fatal(err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, 320, 240))
	if err := src.Read(dst, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("capturing, MIT-SHM %v\n", UsesSHM(src))
	time.Sleep(60 * time.Second) // until killed; bounded in case nobody does
}
