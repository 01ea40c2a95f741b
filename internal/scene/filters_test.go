package scene

import (
	"image"
	"image/color"
	"testing"
	"time"
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
