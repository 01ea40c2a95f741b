package capture

import (
	"image"
	"image/color"
	"time"
)

// Bars are 75% colour bars, left to right.
var patternBars = [...]color.RGBA{
	{191, 191, 191, 255}, {191, 191, 0, 255}, {0, 191, 191, 255}, {0, 191, 0, 255},
	{191, 0, 191, 255}, {191, 0, 0, 255}, {0, 0, 191, 255},
}

var (
	patternGround = color.RGBA{24, 24, 24, 255}
	patternBox    = color.RGBA{0, 0, 0, 255}
	patternInk    = color.RGBA{255, 255, 255, 255}
)

// FlashLength is how long the pattern's flash, and the tone source's beep,
// last after each whole second of wall time. Long enough that at 10 fps and
// above some frame always shows it; its onset is the instant to measure.
const FlashLength = 100 * time.Millisecond

// Flash reports whether capture time t falls in the flash that starts at
// each whole second of wall time: the one rule the test pattern's white
// block and the test tone's beep share, so A/V sync can be measured from a
// recording.
func Flash(t time.Time) bool { return time.Duration(t.Nanosecond()) < FlashLength }

// RenderPattern draws the test pattern for frame frameNo at time t into all
// of dst: colour bars over the top two thirds with a black box that moves a
// few pixels right every frame, and below them the frame number and t's UTC
// wall-clock time (HH:MM:SS.mmm) in large seven-segment digits, so freezes
// and skipped frames show to the eye. When Flash(t) holds, a white block
// shows at the right of the bottom third.
//
// The picture depends only on dst's size, frameNo and t (to the
// millisecond), so a decoder can render the same frame to compare with. It
// has no detail finer than a few pixels at 360p and above, so it survives
// H.264 and chroma subsampling well. It does not allocate.
func RenderPattern(dst *image.RGBA, frameNo int64, t time.Time) {
	b := dst.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return
	}
	barsH := h * 2 / 3
	for i, c := range patternBars {
		x0, x1 := i*w/len(patternBars), (i+1)*w/len(patternBars)
		fillRect(dst, image.Rect(x0, 0, x1, barsH), c)
	}
	fillRect(dst, image.Rect(0, barsH, w, h), patternGround)

	// The box crosses the picture in about three seconds at 30 fps.
	box := max(h/6, 2)
	step := max(w/90, 1)
	span := int64(max(w-box, 0) + 1)
	x := int((frameNo % span * int64(step)) % span)
	if frameNo < 0 {
		x = 0
	}
	y := barsH/2 - box/2
	fillRect(dst, image.Rect(x, y, x+box, y+box), patternBox)

	if Flash(t) {
		fillRect(dst, patternFlashRect(w, h), patternInk)
	}

	// Two lines of digits in the bottom third.
	dh := max(h/9, 5)
	gap := dh / 3
	left := w / 20
	top := barsH + (h-barsH-2*dh-gap)/2

	var buf [24]byte
	drawText(dst, left, top, dh, frameDigits(buf[:0], frameNo))
	t = t.UTC()
	ms := t.Nanosecond() / int(time.Millisecond)
	line := buf[:0]
	line = append2(line, t.Hour())
	line = append(line, ':')
	line = append2(line, t.Minute())
	line = append(line, ':')
	line = append2(line, t.Second())
	line = append(line, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	drawText(dst, left, top+dh+gap, dh, line)
}

// PatternFlashRect is where the test pattern of size w×h shows its flash,
// for a reader that looks for it.
func PatternFlashRect(w, h int) image.Rectangle { return patternFlashRect(w, h) }

// patternFlashRect is where the flash shows: a square at the right of the
// bottom third, clear of the digits at 16:9.
func patternFlashRect(w, h int) image.Rectangle {
	barsH := h * 2 / 3
	side := max((h-barsH)*3/4, 1)
	x := w - w/20 - side
	y := barsH + (h-barsH-side)/2
	return image.Rect(x, y, x+side, y+side)
}

// frameDigits appends n as at least eight decimal digits.
func frameDigits(b []byte, n int64) []byte {
	if n < 0 {
		n = 0
	}
	var tmp [20]byte
	i := len(tmp)
	for n > 0 || i > len(tmp)-8 {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, tmp[i:]...)
}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10%10), byte('0'+n%10)) }

// Seven segments: bit 0 = top (a), then b (upper right), c (lower right),
// d (bottom), e (lower left), f (upper left), g (middle).
var sevenSeg = [10]uint8{
	0x3f, 0x06, 0x5b, 0x4f, 0x66, 0x6d, 0x7d, 0x07, 0x7f, 0x6f,
}

// drawText draws digits, ':' and '.' with cell height dh at x,y (relative to
// dst's corner).
func drawText(dst *image.RGBA, x, y, dh int, text []byte) {
	dw := dh / 2
	th := max(dh/8, 1)
	for _, ch := range text {
		switch {
		case ch >= '0' && ch <= '9':
			drawDigit(dst, x, y, dw, dh, th, sevenSeg[ch-'0'])
			x += dw + dh/4
		case ch == ':':
			fillRect(dst, image.Rect(x+th, y+dh/3-th/2, x+2*th, y+dh/3-th/2+th), patternInk)
			fillRect(dst, image.Rect(x+th, y+2*dh/3-th/2, x+2*th, y+2*dh/3-th/2+th), patternInk)
			x += 3*th + dh/4
		case ch == '.':
			fillRect(dst, image.Rect(x+th, y+dh-th, x+2*th, y+dh), patternInk)
			x += 3*th + dh/4
		}
	}
}

func drawDigit(dst *image.RGBA, x, y, dw, dh, th int, segs uint8) {
	mid := y + (dh-th)/2
	rects := [7]image.Rectangle{
		image.Rect(x, y, x+dw, y+th),         // a
		image.Rect(x+dw-th, y, x+dw, mid+th), // b
		image.Rect(x+dw-th, mid, x+dw, y+dh), // c
		image.Rect(x, y+dh-th, x+dw, y+dh),   // d
		image.Rect(x, mid, x+th, y+dh),       // e
		image.Rect(x, y, x+th, mid+th),       // f
		image.Rect(x, mid, x+dw, mid+th),     // g
	}
	for i, r := range rects {
		if segs&(1<<i) != 0 {
			fillRect(dst, r, patternInk)
		}
	}
}

// fillRect fills r, given relative to dst's top-left corner, clipped to dst.
func fillRect(dst *image.RGBA, r image.Rectangle, c color.RGBA) {
	b := dst.Bounds()
	r = r.Add(b.Min).Intersect(b)
	if r.Empty() {
		return
	}
	i := dst.PixOffset(r.Min.X, r.Min.Y)
	row := dst.Pix[i : i+4*r.Dx() : i+4*r.Dx()]
	for j := 0; j < len(row); j += 4 {
		row[j], row[j+1], row[j+2], row[j+3] = c.R, c.G, c.B, c.A
	}
	for y := r.Min.Y + 1; y < r.Max.Y; y++ {
		i += dst.Stride
		copy(dst.Pix[i:i+len(row)], row)
	}
}
