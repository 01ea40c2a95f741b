//go:build linux

package scene

import (
	"bufio"
	"bytes"
	"context"
	"image"
	_ "image/png"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/capture"
	"github.com/onair-studio/onair/internal/capture/xvfb"
	"github.com/onair-studio/onair/internal/source"
	"github.com/onair-studio/onair/internal/testpeer"
)

func ownSHMSegments(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/sysvipc/shm")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fl := strings.Fields(sc.Text()); len(fl) > 4 && fl[4] == strconv.Itoa(os.Getpid()) {
			n++
		}
	}
	return n
}

// A scene with a real screen layer under a private Xvfb: the frame is the
// screen, and Close gives back the X connection's shared memory.
func TestScreenLayer(t *testing.T) {
	srv, err := xvfb.Start(320, 240)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	segs := ownSHMSegments(t)

	c, err := New(Options{Width: 320, Height: 240, FPS: 30, XDisplay: srv.Display, Layers: []Layer{
		{Source: "screen", Opacity: 1},
		{Source: "pattern", X: 240, Y: 180, W: 80, H: 60, Opacity: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if n := ownSHMSegments(t); n != segs+1 {
		t.Errorf("%d segments with a screen layer, want %d", n, segs+1)
	}
	var frame *image.RGBA
	for n := int64(0); n < 10; n++ {
		frame = c.Compose(n, t0)
	}
	for _, s := range c.Stats().Layers {
		if s.Err != nil {
			t.Fatalf("layer %s: %v", s.Source, s.Err)
		}
	}

	sp, _ := source.Parse("screen:0:0,0,240x180")
	sp.XDisplay = srv.Display
	src, err := capture.OpenSpec(sp)
	if err != nil {
		t.Fatal(err)
	}
	want := image.NewRGBA(image.Rect(0, 0, 240, 180))
	err = src.Read(want, 0, time.Time{})
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 180; y++ {
		got := frame.Pix[frame.PixOffset(0, y) : frame.PixOffset(0, y)+240*4]
		if !bytes.Equal(got, want.Pix[want.PixOffset(0, y):want.PixOffset(0, y)+240*4]) {
			t.Fatalf("row %d differs from a direct capture", y)
		}
	}
	pat := image.NewRGBA(image.Rect(0, 0, 80, 60))
	capture.RenderPattern(pat, 9, t0)
	if frame.RGBAAt(250, 190) != pat.RGBAAt(10, 10) {
		t.Error("pattern layer missing over the screen")
	}

	// Without a size the screen layer fills a smaller program, scaled.
	small, err := New(Options{Width: 160, Height: 120, FPS: 30, XDisplay: srv.Display, Layers: []Layer{{Source: "screen", Opacity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	got := small.Compose(0, t0)
	sp, _ = source.Parse("screen")
	sp.XDisplay = srv.Display
	if src, err = capture.OpenSpec(sp); err != nil {
		t.Fatal(err)
	}
	scaled := image.NewRGBA(image.Rect(0, 0, 160, 120))
	err = src.Read(scaled, 0, time.Time{})
	src.Close()
	small.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Pix, scaled.Pix) {
		t.Error("screen layer in a smaller program is not the scaled screen")
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := ownSHMSegments(t); n != segs {
		t.Errorf("%d segments after Close, want %d", n, segs)
	}
	c.Compose(10, t0)
	if c.Stats().Layers[0].Err == nil {
		t.Error("a closed screen layer reports no error")
	}
}

// A full-frame screen layer with nothing over it reaches the consumer as
// the X server's B,G,R,X, unconverted and where the server wrote it (no
// copy out of the shared memory); snapshots still show true colours;
// once an overlay is drawn over it the frames are R,G,B,A again.
func TestScreenPassedRaw(t *testing.T) {
	const w, h = 64, 48
	srv, err := xvfb.Start(w, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	shown := make([]byte, 4*w*h) // B,G,R,X: a distinct colour per column and row
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			copy(shown[4*(y*w+x):], []byte{byte(4 * x), byte(5 * y), 200, 255})
		}
	}
	anim, err := srv.Animate([][]byte{shown}, w, h, 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(anim.Close)
	testpeer.Await(t, 5*time.Second, "the picture on screen", func() bool { return anim.Shown() > 0 })
	c, err := New(Options{Width: w, Height: h, FPS: 100, XDisplay: srv.Display, Layers: []Layer{{Source: "screen", Opacity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	type got struct {
		bgrx   bool
		copied bool // the frame is the compositor's own buffer
		pix    []byte
	}
	frames := make(chan got, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(f Frame, _ int64, _ time.Time) {
			select {
			case frames <- got{f.BGRX, &f.Pix[0] == &c.out.Pix[0], append([]byte(nil), f.Pix...)}:
			default: // the test is not reading now
			}
		})
	}()
	defer func() { cancel(); <-done }()

	f := <-frames
	if !f.bgrx {
		t.Fatal("a full-frame screen capture was converted to RGBA")
	}
	if f.copied {
		t.Fatal("a full-frame screen capture was copied out of the shared memory the X server wrote it to")
	}
	for i := 0; i < len(shown); i += 4 {
		if !bytes.Equal(f.pix[i:i+3], shown[i:i+3]) {
			t.Fatalf("pixel %d: %v, want B,G,R %v", i/4, f.pix[i:i+3], shown[i:i+3])
		}
	}

	png, err := c.Snapshot(0, 0, "png")
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, a := img.At(10, 20).RGBA(); r>>8 != 200 || g>>8 != 100 || b>>8 != 40 || a>>8 != 255 {
		t.Errorf("snapshot at 10,20: %d,%d,%d,%d; want 200,100,40,255", r>>8, g>>8, b>>8, a>>8)
	}

	ov := image.NewRGBA(image.Rect(0, 0, 8, 8))
	if err := c.SetOverlay("box", ov, 0, 0, 1); err != nil {
		t.Fatal(err)
	}
	for {
		f = <-frames
		if !f.bgrx {
			break
		}
	}
	if px := f.pix[4*(20*w+10):][:4]; !bytes.Equal(px, []byte{200, 100, 40, 255}) {
		t.Errorf("with an overlay, pixel 10,20 is %v, want R,G,B,A 200,100,40,255", px)
	}
}
