// Package slate keeps the live outputs fed while the encoder is down: when a
// return path has had no picture for a second, a still card ("We'll be right
// back", encoded once by the encoder and kept here) is looped to the outputs
// at the stream's frame rate instead, so viewers see a message rather than a
// frozen picture and no live server times the publisher out. The real
// picture takes over again at its first keyframe.
//
// Sound has no such grace: a player whose sound track stops stalls, and an
// encoder restart is shorter than the slate's second. So when a path's sound
// stops while live, the filter fills the gap with silent AAC frames on the
// 1024-sample cadence, continuing the stopped source's sound clock, until
// the new source's first picture; from there the outputs run on the new
// source's clock (they rebase it after the old one), and its sound follows.
package slate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/stub/pb"
)

// After is how long a path may go without a picture before the slate shows:
// longer than any pause of a healthy encoder, short enough that viewers see
// a message before they wonder.
const After = time.Second

// tickEvery is how often the filter looks at the clock: slate pictures go
// out on their frame slots, so a 60 fps slate goes out in twos at most.
const tickEvery = 10 * time.Millisecond

// maxLate is how many frame slots may be sent at once after a late tick;
// slots further behind are skipped (the timestamps jump ahead, the pictures
// stay in decode order).
const maxLate = 5

// SilenceAfter is how long after its time a stretch of a path's sound is
// taken as silence when nothing came for it: longer than the sound's own
// way here takes (the encoder mixes 150 ms behind capture, 64 ms at a time,
// then AAC and the return path: about 250 ms behind the picture), so real
// sound is never replaced by silence. A source that ends (the encoder
// restarts) has its sound filled at once up to its last picture's time.
const SilenceAfter = 500 * time.Millisecond

// maxHole bounds the silence put into a hole in the real sound at once.
const maxHole = 2 * time.Second

// maxHeld bounds the sound a new source may send before its first picture
// reaches the outputs (about 1.4 s): it waits, as its clock is not yet the
// outputs'.
const maxHeld = 64

// Slate is one encoded still: a GOP (an IDR, then P-frames) in decode order
// and its parameter sets, for one path's size and frame rate.
type Slate struct {
	SPS, PPS []byte
	GOP      [][][]byte
	FPS      int
	// AAC is the program's sound config and Silence one silent AAC frame
	// in it, so the slate keeps the sound track going; nil: no sound.
	AAC     *mpeg4audio.AudioSpecificConfig
	Silence []byte
}

// silenceFrame is one silent AAC frame's duration.
func (s *Slate) silenceFrame() time.Duration {
	return stream.AACFrameDuration(s.AAC.SampleRate)
}

func (s *Slate) frame() time.Duration { return time.Second / time.Duration(s.FPS) }

// Filter sits between the return path and the outputs. It is a stream.Sink
// that passes everything through while pictures come, and feeds the slate
// on a path that has gone quiet.
type Filter struct {
	next stream.Sink
	now  func() time.Time
	// keyframe asks the encoder for an IDR: the switch back from the slate
	// waits for one.
	keyframe func()
	log      *slog.Logger

	// mu also orders the calls to next, so a path's slate and real
	// pictures never reach it from two goroutines at once.
	mu    sync.Mutex
	live  bool // off air no one would see a slate
	paths map[string]*path
	// changed wakes Run when the slate, the air state or a source changes.
	changed chan struct{}
}

type path struct {
	slate    *Slate
	lastAU   time.Time     // last real picture, or when the slate was set
	lastPTS  time.Duration // the last real picture's PTS
	tracks   stream.Tracks // the real source's
	showing  bool
	since    time.Time // when the slate began showing
	slots    int       // frame slots sent since
	silences int       // silent AAC frames sent since
	gopPos   int       // next picture of the GOP
	askedKey time.Time // last keyframe request while waiting to switch back
	sound    sound     // the real sound, on the outputs' clock
}

// sound is a path's real sound as the outputs hear it: where it is on the
// clock of the source the outputs run on, and silence to fill its gaps.
type sound struct {
	config  *mpeg4audio.AudioSpecificConfig // the sound's, as the outputs were told it
	silence []byte                          // one silent frame in config; nil: no sound to fill
	frame   time.Duration                   // one frame's length
	end     time.Duration                   // where the last frame sent ends: the next one's PTS
	heardAt time.Time                       // when real sound (or the source's first picture) last came
	heard   time.Duration                   // the PTS that was due then
	filling bool                            // silence went out since the last real frame
	// rebasing: a new source was announced; the outputs take its clock at
	// its first picture, and its sound waits in held until then.
	rebasing bool
	held     []stream.Unit
}

// New returns a filter in front of next; now is its clock (time.Now outside
// tests), keyframe asks the encoder for an IDR.
func New(next stream.Sink, now func() time.Time, keyframe func(), log *slog.Logger) *Filter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Filter{next: next, now: now, keyframe: keyframe, log: log, paths: map[string]*path{}, changed: make(chan struct{}, 1)}
}

// Run ticks the filter until ctx ends: every tickEvery while a slate
// shows or silence fills a gap, otherwise only when the earliest path could
// need either (a second after its last picture, half a second after its
// last sound), so a healthy program costs the master no wake-up per frame.
func (f *Filter) Run(ctx context.Context) {
	t := time.NewTimer(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.changed:
			// The wait below assumed what has just changed.
		case now := <-t.C:
			f.Tick(now)
		}
		t.Reset(f.sleepFor(f.now()))
	}
}

// sleepFor is how long Run may sleep from now: nothing can come due sooner (a
// picture or sound that arrives meanwhile only moves it further out).
func (f *Filter) sleepFor(now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := After
	for _, p := range f.paths {
		switch {
		case p.showing || p.sound.filling:
			return tickEvery
		case !f.live:
		default:
			if p.slate != nil {
				d = min(d, p.lastAU.Add(After).Sub(now))
			}
			if p.sound.silence != nil {
				d = min(d, p.sound.heardAt.Add(SilenceAfter).Sub(now))
			}
		}
	}
	return max(d, tickEvery)
}

// change tells Run to work out its wait again.
func (f *Filter) change() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

func (f *Filter) path(name string) *path {
	p := f.paths[name]
	if p == nil {
		p = &path{lastAU: f.now()}
		f.paths[name] = p
	}
	return p
}

// SetSlate sets the slate for a path (nil: none). A slate already showing
// is replaced at once.
func (f *Filter) SetSlate(name string, s *Slate) {
	defer f.change()
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.path(name)
	p.slate = s
	if p.showing {
		p.showing = false
		if s != nil {
			f.show(name, p, f.now())
		}
	}
}

// SetLive says whether the program is on air: the slate shows only then.
func (f *Filter) SetLive(live bool) {
	defer f.change()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live = live
	for name, p := range f.paths {
		if p.showing && !live {
			// The outputs keep the real parameter sets for the next start.
			p.showing = false
			f.announce(name, p)
		}
	}
}

// announce tells the outputs the real source begins: they take its clock at
// its next picture.
func (f *Filter) announce(name string, p *path) {
	f.next.SourceStarted(name, p.tracks)
	p.sound.rebasing, p.sound.held = true, nil
	if !reflect.DeepEqual(p.sound.config, p.tracks.Audio) {
		// The outputs take every sound frame from here to be in the new
		// source's config: the old clock's silence stops.
		p.sound.silence = nil
	}
}

// Showing lists the paths on the slate now, sorted.
func (f *Filter) Showing() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for name, p := range f.paths {
		if p.showing {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func (f *Filter) SourceStarted(name string, t stream.Tracks) {
	defer f.change()
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.path(name)
	p.tracks = t
	p.sound.held = nil // the old source's, if any
	if !p.showing {
		f.endSound(name, p, f.now())
		f.announce(name, p)
	}
}

func (f *Filter) Unit(name string, u stream.Unit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.path(name)
	now := f.now()
	if u.Kind == stream.Audio {
		if p.showing || p.sound.rebasing {
			// Not on the outputs' clock yet: it waits for the picture.
			u.AAC = bytes.Clone(u.AAC)
			p.sound.held = append(p.sound.held[max(len(p.sound.held)-maxHeld+1, 0):], u)
			return
		}
		f.passSound(name, p, u, now)
		return
	}
	if p.sound.rebasing && !p.showing {
		// The outputs run on the old source's clock until this picture, and
		// place it after the old one's last by the wall clock between them:
		// the old sound's silence runs on up to there.
		f.endSound(name, p, now)
	}
	p.lastAU, p.lastPTS = now, u.PTS
	if p.showing {
		if !u.Key {
			// A decoder cannot start here: the slate stays until a keyframe.
			if now.Sub(p.askedKey) >= After && f.keyframe != nil {
				p.askedKey = now
				f.keyframe()
			}
			return
		}
		p.showing = false
		f.log.Info("slate off: the program is back", "path", name, "after", now.Sub(p.since).Round(time.Millisecond))
		held := p.sound.held
		f.announce(name, p)
		p.sound.held = held
	}
	f.next.Unit(name, u)
	if p.sound.rebasing {
		f.rebaseSound(name, p, u.PTS, now)
	}
}

// rebaseSound puts the sound on the clock of the source whose first picture,
// at pts, just reached the outputs, and sends the sound that waited for it.
// Sound from before the picture is dropped: the outputs would place it
// before the picture they just started the source with.
func (f *Filter) rebaseSound(name string, p *path, pts time.Duration, now time.Time) {
	held := p.sound.held
	p.sound = sound{config: p.tracks.Audio, silence: SilentAAC(p.tracks.Audio), end: pts, heardAt: now, heard: pts}
	f.change() // a sound gap can come due sooner than Run waits
	if p.tracks.Audio != nil && p.tracks.Audio.SampleRate > 0 {
		p.sound.frame = stream.AACFrameDuration(p.tracks.Audio.SampleRate)
	}
	for _, u := range held {
		if u.PTS >= pts {
			f.passSound(name, p, u, now)
		}
	}
}

// passSound sends one real AAC frame on the outputs' clock, unless silence
// already covered its time; a hole before it (the sound of a new source
// starts after its first picture) is silence, sent first.
func (f *Filter) passSound(name string, p *path, u stream.Unit, now time.Time) {
	s := &p.sound
	if s.filling && u.PTS < s.end {
		return
	}
	if s.filling {
		f.log.Info("sound back", "path", name, "silence", u.PTS-s.heard)
	}
	if s.silence != nil && s.frame > 0 && u.PTS-s.end <= maxHole {
		// Whole frames only: what is left is under a frame, never an overlap.
		for ; s.end+s.frame <= u.PTS+time.Millisecond; s.end += s.frame {
			f.next.Unit(name, stream.AudioUnit(s.silence, s.end))
		}
	}
	f.next.Unit(name, u)
	s.filling = false
	s.end = u.PTS + s.frame
	s.heardAt, s.heard = now, s.end
}

// fillSilence sends silent frames for the time a path's sound has been
// quiet, on the clock of the source the outputs run on, each frame starting
// no later than now on that clock.
func (f *Filter) fillSilence(name string, p *path, now time.Time) {
	s := &p.sound
	if s.silence == nil || s.frame <= 0 || now.Sub(s.heardAt) < SilenceAfter {
		return
	}
	if !s.filling {
		f.log.Info("sound gap: filling with silence", "path", name, "after", now.Sub(s.heardAt).Round(time.Millisecond))
	}
	s.filling = true
	f.silenceUntil(name, p, s.heard+now.Sub(s.heardAt)-SilenceAfter)
}

// silenceUntil sends silent frames from where the sound ends up to due.
func (f *Filter) silenceUntil(name string, p *path, due time.Duration) {
	s := &p.sound
	if s.silence == nil || s.frame <= 0 {
		return
	}
	// After a stall of the master, at most a second of silence goes at once.
	s.end = max(s.end, due-time.Second)
	for ; s.end < due; s.end += s.frame {
		f.next.Unit(name, stream.AudioUnit(s.silence, s.end))
	}
}

// endSound fills a source's sound with silence up to where its picture is
// now, as the source ends (a restarted encoder, or the slate, comes next)
// and again at the next source's first picture: the outputs start the next
// source's clock there, and its sound after it. The last frame ends before
// that, so the next source's sound never overlaps it.
func (f *Filter) endSound(name string, p *path, now time.Time) {
	if p.lastAU.IsZero() {
		return
	}
	f.silenceUntil(name, p, p.lastPTS+now.Sub(p.lastAU)-p.sound.frame)
}

func (f *Filter) SourceStopped(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next.SourceStopped(name)
}

// Tick starts the slate on paths that went quiet and sends the slate
// pictures whose frame slots have come by now.
func (f *Filter) Tick(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, p := range f.paths {
		if f.live && !p.showing {
			f.fillSilence(name, p, now)
		}
		switch {
		case p.slate == nil:
		case p.showing:
			f.send(name, p, now)
		case f.live && now.Sub(p.lastAU) >= After:
			f.log.Warn("slate on: no program picture", "path", name, "for", now.Sub(p.lastAU).Round(time.Millisecond))
			f.show(name, p, now)
		}
	}
}

// show starts the slate on a path as a new source, so the outputs rebase
// its timestamps after the last real ones.
func (f *Filter) show(name string, p *path, now time.Time) {
	f.endSound(name, p, now)
	p.showing, p.since, p.slots, p.gopPos, p.askedKey, p.silences = true, now, 0, 0, time.Time{}, 0
	p.sound = sound{} // the slate carries its own
	f.next.SourceStarted(name, stream.Tracks{Video: &stream.H264{SPS: p.slate.SPS, PPS: p.slate.PPS}, Audio: p.slate.AAC})
	f.send(name, p, now)
}

// send sends the pictures for the frame slots up to now, each timed at its
// slot; the GOP loops, so every lap starts at its IDR.
func (f *Filter) send(name string, p *path, now time.Time) {
	frame := p.slate.frame()
	due := int(now.Sub(p.since)/frame) + 1
	p.slots = max(p.slots, due-maxLate)
	for ; p.slots < due; p.slots++ {
		au := p.slate.GOP[p.gopPos]
		p.gopPos = (p.gopPos + 1) % len(p.slate.GOP)
		f.next.Unit(name, stream.VideoUnit(au, time.Duration(p.slots)*frame))
	}
	if p.slate.AAC == nil {
		return
	}
	// Silence through the last picture's time, so sound never runs ahead.
	aac := p.slate.silenceFrame()
	upTo := time.Duration(p.slots) * frame
	p.silences = max(p.silences, int((upTo-time.Duration(maxLate)*frame)/aac))
	for ; time.Duration(p.silences)*aac < upTo; p.silences++ {
		f.next.Unit(name, stream.AudioUnit(p.slate.Silence, time.Duration(p.silences)*aac))
	}
}

// FromReply checks the encoder's slate for a path at fps frames a second.
func FromReply(r *pb.SlateReply, fps int) (*Slate, error) {
	s := &Slate{SPS: r.GetSps(), PPS: r.GetPps(), FPS: fps}
	for _, au := range r.GetAccessUnits() {
		s.GOP = append(s.GOP, au.GetNalus())
	}
	if len(r.GetAacConfig()) > 0 && len(r.GetAacSilence()) > 0 {
		var c mpeg4audio.AudioSpecificConfig
		if err := c.Unmarshal(r.GetAacConfig()); err != nil || c.SampleRate <= 0 {
			return nil, fmt.Errorf("slate: unreadable AAC config: %v", err)
		}
		s.AAC, s.Silence = &c, r.GetAacSilence()
	}
	switch {
	case fps <= 0:
		return nil, fmt.Errorf("slate: frame rate %d", fps)
	case len(s.GOP) == 0 || !h264.IsRandomAccess(s.GOP[0]):
		return nil, errors.New("slate: the encoder sent no GOP starting with an IDR")
	}
	return s, nil
}
