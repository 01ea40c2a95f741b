package scene

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"slices"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/transition"
)

// erase makes every pixel transparent; bypass never changes anything.
type erase struct{ calls int }

func (c *erase) Apply(img *image.RGBA) bool {
	c.calls++
	clear := img.Pix
	for i := range clear {
		clear[i] = 0
	}
	return true
}

type bypass struct{}

func (bypass) Apply(*image.RGBA) bool { return false }

type tint struct{}

func (tint) Apply(img *image.RGBA) bool {
	for i := 2; i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
	return true
}

// A filter that makes a layer transparent shows the layer below through
// it; a bypassed one leaves the layer as it is; a program filter sees the
// finished frame.
func TestFiltersChangeLayersAndProgram(t *testing.T) {
	c, err := New(Options{Width: 32, Height: 16, FPS: 30, Layers: []Layer{
		{Source: "color:#ff0000", Opacity: 1, Name: "bg"},
		{Source: "color:#00ff00", Opacity: 1, Name: "fg"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	at := func() color.RGBA { return c.Compose(1, time.Now()).RGBAAt(5, 5) }
	if got := at(); got != (color.RGBA{0, 255, 0, 255}) {
		t.Fatalf("unfiltered: %v, want the green layer on top", got)
	}
	cl := &erase{}
	c.SetFilters(&Filters{Layers: map[string][]Filter{"fg": {cl}}})
	if got := at(); got != (color.RGBA{255, 0, 0, 255}) || cl.calls != 1 {
		t.Fatalf("keyed: %v after %d calls, want the red layer below", got, cl.calls)
	}
	c.SetFilters(&Filters{Layers: map[string][]Filter{"fg": {bypass{}}}})
	if got := at(); got != (color.RGBA{0, 255, 0, 255}) {
		t.Fatalf("bypassed: %v, want the layer unfiltered", got)
	}
	c.SetFilters(&Filters{Program: []Filter{tint{}}})
	if got := at(); got != (color.RGBA{0, 255, 255, 255}) {
		t.Fatalf("program filter: %v, want green with full blue", got)
	}
}

// lender is a program filter that lends frames of its own, as a filter
// plugin lends its ring's slots. Its filter turns blue full on; late, it
// bypasses and keeps scribbling over the frame, as a late plugin may.
type lender struct {
	late     bool
	applied  int
	loans    []*loan
	returned int
}

type loan struct {
	l        *lender
	img      *image.RGBA
	returned bool
}

func (l *lender) Apply(img *image.RGBA) bool { l.applied++; return tint{}.Apply(img) }

func (l *lender) Lend(w, h int) Loan {
	ln := &loan{l: l, img: image.NewRGBA(image.Rect(0, 0, w, h))}
	l.loans = append(l.loans, ln)
	return ln
}

func (ln *loan) Image() *image.RGBA { return ln.img }

func (ln *loan) Filter() bool {
	if ln.l.late {
		for i := range ln.img.Pix {
			ln.img.Pix[i] = 0x42
		}
		return false
	}
	return tint{}.Apply(ln.img)
}

func (ln *loan) Return() {
	if ln.returned {
		panic("a loan returned twice")
	}
	ln.returned = true
	ln.l.returned++
}

// The program is drawn straight into the frame its first filter lends and
// shown from there, with no copy; the frame is given back when the next
// one is composed, and snapshots read it until then.
func TestProgramShownFromLentFrame(t *testing.T) {
	c := newScene(t, 32, 16, Layer{Source: "color:#00ff00", Opacity: 1})
	l := &lender{}
	c.SetFilters(&Filters{Program: []Filter{l, tint{}}})
	f := c.Compose(1, t0)
	if len(l.loans) != 1 || &f.Pix[0] != &l.loans[0].img.Pix[0] {
		t.Fatal("the frame is not shown from the lent frame")
	}
	if got := f.RGBAAt(5, 5); got != (color.RGBA{0, 255, 255, 255}) || l.applied != 0 {
		t.Fatalf("filtered frame %v (%d copies filtered), want green with full blue from the lent frame", got, l.applied)
	}
	if l.returned != 0 {
		t.Fatal("the lent frame was given back while shown")
	}
	shot, err := c.Snapshot(0, 0, "png")
	if err != nil {
		t.Fatal(err)
	}
	if got := pngAt(t, shot, 5, 5); got != (color.RGBA{0, 255, 255, 255}) {
		t.Errorf("snapshot %v, want the filtered frame", got)
	}
	c.Compose(2, t0)
	if len(l.loans) != 2 || !l.loans[0].returned || l.loans[1].returned {
		t.Fatalf("after the next frame: %d loans, first returned %v", len(l.loans), l.loans[0].returned)
	}
	c.Close()
	if !l.loans[1].returned {
		t.Fatal("Close kept the lent frame")
	}
	if shot, err = c.Snapshot(0, 0, "png"); err != nil || pngAt(t, shot, 5, 5) != (color.RGBA{0, 255, 255, 255}) {
		t.Errorf("snapshot after Close: %v, want the last frame", err)
	}
}

// A bypassed lent frame is never shown: the program is drawn again, whole
// and unfiltered, into the compositor's own frame. Layer filters and
// failing layers are not run or counted twice for it, and a transition
// airs exactly as without the filter.
func TestBypassedLentFrameIsDrawnAgain(t *testing.T) {
	layers := []Layer{
		{Source: "color:#ff0000", Opacity: 1, Name: "bg"},
		{Source: "color:#00ff00", X: 8, W: 8, H: 8, Opacity: 1, Name: "fg"},
		{Source: "image:/nonexistent.png", Opacity: 1},
	}
	c := newScene(t, 32, 16, layers...)
	plain := newScene(t, 32, 16, layers...)
	l := &lender{late: true}
	erased := &erase{}
	c.SetFilters(&Filters{Layers: map[string][]Filter{"fg": {erased}}, Program: []Filter{l}})
	plain.SetFilters(&Filters{Layers: map[string][]Filter{"fg": {&erase{}}}})
	same := func(n int64) {
		t.Helper()
		f, want := c.Compose(n, t0), plain.Compose(n, t0)
		if !slices.Equal(f.Pix, want.Pix) {
			t.Fatalf("frame %d differs from the same scene without the bypassed filter", n)
		}
		if &f.Pix[0] == &l.loans[len(l.loans)-1].img.Pix[0] {
			t.Fatalf("frame %d is shown from the bypassed lent frame", n)
		}
	}
	same(0)
	if erased.calls != 1 || l.returned != 1 {
		t.Errorf("layer filter run %d times, %d of 1 lent frames returned", erased.calls, l.returned)
	}
	if errs := c.Stats().Layers[2].Errors; errs != 1 {
		t.Errorf("the missing image counted %d errors for one frame", errs)
	}
	fade, err := transition.Parse("fade", 400*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Compositor{c, plain} {
		if err := s.Switch(solid("#0000ff"), fade); err != nil {
			t.Fatal(err)
		}
	}
	for n := int64(1); n <= 3; n++ {
		same(n)
	}
}

// pngAt is the pixel at x, y of a PNG snapshot.
func pngAt(t *testing.T, data []byte, x, y int) color.RGBA {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return toRGBA(img).RGBAAt(x, y)
}
