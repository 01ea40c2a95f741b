package capture

import (
	"bytes"
	"image"
	"testing"
	"time"
)

var patternTime = time.Date(2025, 3, 4, 12, 34, 56, 789e6, time.UTC)

func renderPattern(w, h int, n int64, t time.Time) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	RenderPattern(img, n, t)
	return img
}

// differs reports whether a and b differ inside r.
func differs(a, b *image.RGBA, r image.Rectangle) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.RGBAAt(x, y) != b.RGBAAt(x, y) {
				return true
			}
		}
	}
	return false
}

func TestPatternDeterministic(t *testing.T) {
	a := renderPattern(1280, 720, 1234, patternTime)
	b := renderPattern(1280, 720, 1234, patternTime)
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Fatal("same frame number and time gave different pictures")
	}
	// Only the millisecond matters, and the zone does not.
	c := renderPattern(1280, 720, 1234, patternTime.Add(400*time.Microsecond).In(time.FixedZone("x", 3600)))
	if !bytes.Equal(a.Pix, c.Pix) {
		t.Error("sub-millisecond or time zone change altered the picture")
	}
	// Drawing into a sub-image with an offset origin gives the same picture.
	big := image.NewRGBA(image.Rect(0, 0, 1400, 800))
	sub := big.SubImage(image.Rect(100, 50, 1380, 770)).(*image.RGBA)
	RenderPattern(sub, 1234, patternTime)
	for y := 0; y < 720; y++ {
		for x := 0; x < 1280; x++ {
			if sub.RGBAAt(100+x, 50+y) != a.RGBAAt(x, y) {
				t.Fatalf("sub-image differs at %d,%d", x, y)
			}
		}
	}
	if big.RGBAAt(99, 49).A != 0 || big.RGBAAt(1380, 770).A != 0 {
		t.Error("drew outside the sub-image")
	}
}

func TestPatternShowsFrameAndTime(t *testing.T) {
	const w, h = 1280, 720
	barsH := h * 2 / 3
	counter := image.Rect(0, barsH, w, barsH+(h-barsH)/2) // first line of digits
	clock := image.Rect(0, barsH+(h-barsH)/2, w, h)       // second line
	bars := image.Rect(0, 0, w, barsH)

	a := renderPattern(w, h, 1000, patternTime)
	b := renderPattern(w, h, 1001, patternTime)
	if !differs(a, b, counter) {
		t.Error("frames 1000 and 1001 look the same where the counter is drawn")
	}
	if !differs(a, b, bars) {
		t.Error("the box did not move between frames 1000 and 1001")
	}
	if differs(a, b, clock) {
		t.Error("the clock changed with the frame number alone")
	}
	c := renderPattern(w, h, 1000, patternTime.Add(time.Millisecond))
	if !differs(a, c, clock) {
		t.Error("times 1 ms apart look the same where the clock is drawn")
	}
	if differs(a, c, counter) || differs(a, c, bars) {
		t.Error("the time changed more than the clock")
	}
	for _, p := range []image.Point{{0, 0}, {w - 1, 0}, {w / 2, h - 1}} {
		if a.RGBAAt(p.X, p.Y).A != 255 {
			t.Errorf("pixel %v not opaque", p)
		}
	}
}

func TestPatternFlashesAtEachWholeSecond(t *testing.T) {
	const w, h = 1280, 720
	flash := patternFlashRect(w, h)
	second := time.Date(2025, 3, 4, 12, 34, 57, 0, time.UTC)
	dark := renderPattern(w, h, 1000, second.Add(-time.Millisecond))
	for _, c := range []struct {
		at   time.Duration
		want bool
	}{{-time.Millisecond, false}, {0, true}, {FlashLength - time.Millisecond, true}, {FlashLength, false}, {500 * time.Millisecond, false}} {
		at := second.Add(c.at)
		if Flash(at) != c.want {
			t.Errorf("Flash(whole second %+v) = %v, want %v", c.at, !c.want, c.want)
		}
		img := renderPattern(w, h, 1000, at)
		if got := img.RGBAAt(flash.Min.X+flash.Dx()/2, flash.Min.Y+flash.Dy()/2) == patternInk; got != c.want {
			t.Errorf("at whole second %+v the white block shows: %v, want %v", c.at, got, c.want)
		}
	}
	// The flash changes only its block (the clock digits aside).
	lit := renderPattern(w, h, 1000, second)
	clock := image.Rect(0, h*2/3+(h-h*2/3)/2, flash.Min.X, h)
	for _, r := range []image.Rectangle{image.Rect(0, 0, w, h*2/3), image.Rect(0, h*2/3, flash.Min.X, clock.Min.Y)} {
		if differs(dark, lit, r) {
			t.Errorf("the flash changed %v, outside its block", r)
		}
	}
	// Another zone shows the same wall-clock second.
	if !Flash(second.In(time.FixedZone("x", -5*3600))) {
		t.Error("the flash depends on the time zone")
	}
}

func TestPatternTinyAndNoAllocs(t *testing.T) {
	for _, s := range []image.Point{{1, 1}, {2, 3}, {16, 9}, {0, 0}} {
		renderPattern(s.X, s.Y, 99, patternTime) // must not panic
	}
	img := image.NewRGBA(image.Rect(0, 0, 640, 360))
	if n := testing.AllocsPerRun(10, func() { RenderPattern(img, 123456789, patternTime) }); n != 0 {
		t.Errorf("%.0f allocations per frame", n)
	}
}

func BenchmarkPattern720p(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	for i := 0; b.Loop(); i++ {
		RenderPattern(img, int64(i), patternTime)
	}
}
