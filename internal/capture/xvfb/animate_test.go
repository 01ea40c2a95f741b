package xvfb

import (
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"github.com/onair-studio/onair/internal/testpeer"
)

// The animation really changes what the screen shows, frame after frame.
func TestAnimateShowsEveryFrame(t *testing.T) {
	const w, h = 64, 48
	x, err := Start(w, h)
	if err != nil {
		t.Skipf("no Xvfb: %v", err)
	}
	defer x.Close()
	colours := [][3]byte{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}}
	frames := make([][]byte, len(colours))
	for i, c := range colours {
		f := make([]byte, 4*w*h)
		for p := 0; p < len(f); p += 4 {
			f[p], f[p+1], f[p+2], f[p+3] = c[2], c[1], c[0], 255 // B, G, R, A
		}
		frames[i] = f
	}
	a, err := x.Animate(frames, w, h, 50)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	conn, err := xgb.NewConnDisplay(x.Display)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	root := xproto.Setup(conn).DefaultScreen(conn).Root
	seen := map[[3]byte]bool{}
	for deadline := time.Now().Add(10 * time.Second); len(seen) < len(colours) && time.Now().Before(deadline); {
		img, err := xproto.GetImage(conn, xproto.ImageFormatZPixmap, xproto.Drawable(root), 10, 10, 1, 1, 0xffffffff).Reply()
		if err != nil {
			t.Fatal(err)
		}
		seen[[3]byte{img.Data[2], img.Data[1], img.Data[0]}] = true
		time.Sleep(5 * time.Millisecond) // sampling interval, well under a frame
	}
	for _, c := range colours {
		if !seen[c] {
			t.Errorf("colour %v never shown; saw %v", c, seen)
		}
	}

	// It keeps going for as long as it runs: more frames than xgb queues (5000)
	// events for, so an unread event per frame would stall it.
	a.SetRate(10000)
	if !testpeer.Eventually(20*time.Second, func() bool { return a.Shown() >= 6000 }) {
		t.Fatalf("the animation stalled after %d frames", a.Shown())
	}
}
