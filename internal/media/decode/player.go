package decode

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Options say how a Player plays its input.
type Options struct {
	// Loop starts a file over at its end, without a gap; otherwise it
	// plays once and holds its last picture.
	Loop bool
	// Live shows the newest picture as soon as it is decoded (a device);
	// otherwise pictures show at their timestamps from the first Read on.
	Live bool
}

// pictures is how many decoded pictures a Player holds: the one showing,
// the next, and four decoded ahead (over 100 ms at 30 fps), so the
// compositor never waits for the decoder, even on a busy machine or
// across a loop's rewind. A compositor slower than the input holds as
// many more as the input shows per frame (SetFrameRate), up to
// maxPictures.
const (
	pictures    = 6
	maxPictures = 64
)

// Player decodes its input on a goroutine of its own, ahead of time, and
// hands out the picture due at each frame of the compositor's clock:
// repeated when the output's rate is higher than the input's, skipped when
// it is lower. Its sound is kept for the mixer (ReadSound) on the same
// timeline. Read is for one goroutine (the compositor's); ReadSound and
// Close are safe from any.
type Player struct {
	in   Input
	opts Options

	ready chan *picture // decoded, in order
	free  chan *picture // to decode into
	want  atomic.Int64  // the size Read draws at, w<<32|h, so the decoder scales once
	own   image.Point   // the first picture's size
	// The compositor's own: the picture showing, the next one, and when
	// the first was shown (the input's time 0).
	cur, next  *picture
	start      time.Time
	startFrame int64
	startNano  atomic.Int64
	// fps is the compositor's frame rate (SetFrameRate): pictures are
	// then due by frame slot, not by the late-or-early time a frame was
	// composed at.
	fps float64
	// shown is the input time Read showed last; the decoder drops the
	// pictures that end before it instead of converting them, so a slow
	// compositor (a 5 fps preview) or a hidden layer catches up.
	shown atomic.Int64
	// frame is an input picture's duration (0: not known yet).
	frame atomic.Int64

	mu    sync.Mutex
	err   error // the decoder stopped on an error
	sound ring
	// hasSound: the input has a sound track (known at open, so the mixer
	// sees the layer's sound before its first block is decoded).
	hasSound bool
	stop     chan struct{}
	done     chan struct{}
	closed   atomic.Bool
}

type picture struct {
	img *image.RGBA
	at  time.Duration
}

// ErrNoPicture says an input ended before its first picture.
var ErrNoPicture = errors.New("no picture in it")

// Play opens in and decodes its first picture before it returns, so an
// input that does not open or decode is refused here, then decodes on.
func Play(in Input, opts Options) (*Player, error) {
	r, err := open(in)
	if err != nil {
		return nil, err
	}
	p := &Player{in: in, opts: opts, ready: make(chan *picture, maxPictures), free: make(chan *picture, maxPictures),
		stop: make(chan struct{}), done: make(chan struct{}), hasSound: r.hasSound()}
	p.sound.init()
	for range pictures {
		p.free <- &picture{}
	}
	d := &decoder{p: p, r: r}
	if err := d.first(); err != nil {
		r.close()
		return nil, err
	}
	go d.run()
	return p, nil
}

// decoder is the decoding goroutine's state.
type decoder struct {
	p       *Player
	r       *reader
	buf     []float32
	base    time.Duration // the current pass's start on the timeline
	end     time.Duration // the first pass's length, once known
	last    time.Duration // the end of the latest picture of this pass
	decoded int           // pictures decoded in this pass
	frame   time.Duration // an input frame's length
	pos     int64         // the sample after the last one written, -1: none
}

// first decodes up to the first picture.
func (d *decoder) first() error {
	d.pos = -1
	for {
		k, err := d.r.next()
		switch {
		case err != nil:
			return err
		case k == end:
			return fmt.Errorf("%s: %w", d.r.url, ErrNoPicture)
		case k == sound:
			d.keepSound()
		case k == video:
			return d.picture()
		}
	}
}

// run decodes until Close, the input's end (played once) or an error.
func (d *decoder) run() {
	p := d.p
	defer close(p.done)
	defer d.r.close()
	for {
		k, err := d.r.next()
		switch {
		case err != nil:
			p.fail(err)
			return
		case k == sound:
			d.keepSound()
		case k == video:
			if err := d.picture(); err != nil {
				if !errors.Is(err, errStopped) {
					p.fail(err)
				}
				return
			}
		case p.opts.Live:
			p.fail(fmt.Errorf("%s: the device stopped sending pictures", d.r.url))
			return
		case !p.opts.Loop:
			return // the last picture stays
		default:
			// The next pass follows the last picture of this one.
			if d.decoded == 0 { // cut short or replaced while playing
				p.fail(fmt.Errorf("%s: a whole pass gave no picture", d.r.url))
				return
			}
			if d.end == 0 {
				d.end = d.last
			}
			if d.end <= 0 {
				p.fail(fmt.Errorf("%s: it has no length to loop", d.r.url))
				return
			}
			d.base += d.end
			d.last, d.pos, d.decoded = 0, -1, 0 // the next pass's sound starts at its own time
			if err := d.r.rewind(); err != nil {
				p.fail(err)
				return
			}
		}
	}
}

var errStopped = errors.New("stopped")

// picture converts the decoded picture into a free one and queues it.
func (d *decoder) picture() error {
	p := d.p
	size, at, dur := d.r.picture()
	if p.own == (image.Point{}) {
		p.own = size // set before the decoding goroutine starts
	}
	if dur <= 0 {
		dur = d.frame
	}
	if dur > 0 {
		d.frame = dur
		p.frame.Store(int64(dur))
	}
	d.last = max(d.last, at+dur)
	d.decoded++
	if shown := time.Duration(p.shown.Load()); !p.opts.Live && shown > 0 && d.base+at+dur <= shown {
		return nil // already past: not worth converting
	}
	var pic *picture
	select {
	case pic = <-p.free:
	case <-p.stop:
		return errStopped
	}
	if w := p.want.Load(); w != 0 {
		size = image.Pt(int(w>>32), int(w&0xffffffff))
	}
	if pic.img == nil || pic.img.Rect.Size() != size {
		pic.img = image.NewRGBA(image.Rectangle{Max: size})
	}
	pic.at = d.base + at
	if err := d.r.rgba(pic.img); err != nil {
		return err
	}
	p.ready <- pic // never blocks: ready holds every picture
	return nil
}

// keepSound stores the decoded sound on the timeline.
func (d *decoder) keepSound() {
	var at time.Duration
	d.buf, at = d.r.sound(d.buf)
	n := sampleAt(d.base + at)
	// Blocks follow each other: rounding must not leave a gap or an overlap.
	if d.pos >= 0 && n-d.pos < sampleRate/100 && d.pos-n < sampleRate/100 {
		n = d.pos
	}
	d.p.sound.write(n, d.buf)
	d.pos = n + int64(len(d.buf)/2)
}

// SetFrameRate says the rate Read is called at, frame numbers counting
// slots of 1/fps: a picture is then due by its frame's slot. Call it
// before the first Read.
func (p *Player) SetFrameRate(fps float64) {
	p.fps = fps
	if frame := time.Duration(p.frame.Load()); fps > 0 && frame > 0 {
		perFrame := int(math.Ceil(float64(time.Second) / fps / float64(frame)))
		for range min(perFrame, maxPictures-pictures) {
			p.free <- &picture{}
		}
	}
}

// Read draws the picture due at t into all of dst, scaled. The first
// Read starts the input's clock. A picture the decoder is late with is
// not waited for: the one before it shows again.
func (p *Player) Read(dst *image.RGBA, frameNo int64, t time.Time) error {
	if p.start.IsZero() {
		p.start, p.startFrame = t, frameNo
		p.startNano.Store(t.UnixNano())
	}
	size := dst.Rect.Size()
	p.want.Store(int64(size.X)<<32 | int64(size.Y))
	due := t.Sub(p.start)
	if p.fps > 0 {
		due = time.Duration(float64(frameNo-p.startFrame) * float64(time.Second) / p.fps)
	}
	due += p.tolerance()
	p.shown.Store(int64(due))
	for {
		if p.next == nil {
			select {
			case p.next = <-p.ready:
			default:
			}
		}
		if p.next == nil || (p.cur != nil && !p.opts.Live && p.next.at > due) {
			break
		}
		if p.cur != nil {
			p.free <- p.cur
		}
		p.cur, p.next = p.next, nil
	}
	if err := p.failure(); err != nil && p.next == nil && len(p.ready) == 0 {
		return err
	}
	if p.cur == nil {
		return fmt.Errorf("%s: no picture yet", p.in.URL)
	}
	src := p.cur.img
	if src.Rect.Size() != size {
		scaleInto(dst, src)
		return nil
	}
	for y := 0; y < size.Y; y++ {
		o := dst.PixOffset(dst.Rect.Min.X, dst.Rect.Min.Y+y)
		copy(dst.Pix[o:o+4*size.X], src.Pix[y*src.Stride:])
	}
	return nil
}

// tolerance shows a picture due within a little under half an input
// frame, so the jitter of the compositor's clock neither repeats one
// picture nor skips the next, and a picture exactly between two frames
// of the output shows on the later one.
func (p *Player) tolerance() time.Duration {
	if f := time.Duration(p.frame.Load()); f > 0 {
		return min(f*45/100, 50*time.Millisecond)
	}
	return 10 * time.Millisecond
}

func (p *Player) fail(err error) {
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
}

func (p *Player) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Size is the input's own picture size (its first picture's).
func (p *Player) Size() image.Point { return p.own }

// Opaque is true: decoded pictures have no transparency.
func (p *Player) Opaque() bool { return true }

// ReadSound fills dst (interleaved stereo, 48 kHz) with the input's sound
// that plays at wall-clock time at, and reports whether it had any: none
// before the first picture was shown, nor where the decoder has not been.
func (p *Player) ReadSound(dst []float32, at time.Time) bool {
	start := p.startNano.Load()
	if start == 0 || p.closed.Load() {
		clear(dst)
		return false
	}
	return p.sound.read(dst, sampleAt(at.Sub(time.Unix(0, start))))
}

// HasSound reports whether the input has a sound track.
func (p *Player) HasSound() bool { return p.hasSound }

// Close stops the decoder and releases the input.
func (p *Player) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	close(p.stop)
	<-p.done
	return nil
}

// String is the input's URL.
func (p *Player) String() string { return p.in.URL }
