package param

import (
	"image"
	"image/color"
	"strings"
	"testing"
)

// The edge cases the GUI once judged differently from the pluginhost: each
// value is accepted or refused by the one rule both now use, and every
// refusal says what a valid value looks like.
func TestCheck(t *testing.T) {
	for _, c := range []struct {
		typ, v string
		ok     bool
	}{
		{Int, "12", true}, {Int, "-3", true}, {Int, "1.5", false}, {Int, " 12", false},
		{Float, "0.6", true}, {Float, "x", false}, {Float, "NaN", false}, {Float, "+Inf", false},
		{Bool, "true", true}, {Bool, "yes", false},
		{Duration, "500ms", true}, {Duration, "5", false},
		{Color, "#ff8800", true}, {Color, "#FFF", true}, {Color, " #fff ", true}, {Color, "#ff880080", true},
		{Color, "orange", false}, {Color, "#ff88", false},
		{Place, "top-right", true}, {Place, "Top-Right", true}, {Place, "10,20", true}, {Place, "10, 20", true},
		{Place, "-5,-5", false}, {Place, "middle", false}, {Place, "10", false},
		{String, "anything", true},
	} {
		err := Check(c.typ, c.v)
		if (err == nil) != c.ok {
			t.Errorf("Check(%s, %q) = %v, want ok=%v", c.typ, c.v, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "(want ") {
			t.Errorf("Check(%s, %q): %q does not say what is wanted", c.typ, c.v, err)
		}
	}
	for _, typ := range types {
		if err := Check(typ, ""); err != nil {
			t.Errorf("empty %s refused: %v", typ, err)
		}
	}
	if Check("blob", "") == nil {
		t.Error("an unknown type passed")
	}
}

func TestColorAndPlace(t *testing.T) {
	c, err := ParseColor("#ff000080")
	if err != nil || c != (color.RGBA{128, 0, 0, 128}) {
		t.Fatalf("#ff000080 = %v, %v; want premultiplied {128 0 0 128}", c, err)
	}
	if c, _ := ParseColor("#0f0"); c != (color.RGBA{0, 255, 0, 255}) {
		t.Fatalf("#0f0 = %v", c)
	}
	out, size := image.Pt(640, 360), image.Pt(100, 50)
	for pos, want := range map[string]image.Point{
		"top-left": {10, 10}, "bottom-right": {530, 300}, "center": {270, 155}, "7,9": {7, 9},
	} {
		p, err := ParsePosition(pos)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Place(size, out, 10); got != want {
			t.Errorf("%s: %v, want %v", pos, got, want)
		}
	}
	if len(Anchors) != len(anchorAt) {
		t.Errorf("Anchors lists %d names, %d are placed", len(Anchors), len(anchorAt))
	}
}
