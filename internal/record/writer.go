package record

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"

	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/internal/timeline"
)

// timescale is the media timescale of the recorded tracks: 90 kHz, the
// RTP clock of the return path, so no precision is lost on the way; one
// 48 kHz AAC frame is exactly 1920 ticks.
const timescale = 90000

const (
	trackID      = 1
	audioTrackID = 2
	// A fragment also ends when it holds this many bytes, whatever its
	// duration, so memory stays bounded for any stream.
	maxFragmentBytes = 32 << 20
)

// writer owns the files of one recording; only its goroutine touches it.
type writer struct {
	r       *Recorder
	names   func(n int) string
	n       int // number of the current (or next) file
	f       file
	sync    *syncer // flushes f to the device in the background
	name    string
	off     int64 // end of the last complete fragment
	dirty   bool  // a failed write may have left bytes past off
	seq     uint32
	inited  bool // the init segment is in the file
	w, h    int  // resolution of the current file
	frag    time.Duration
	tl      *timeline.Timeline
	pending []sample // the fragment being collected
	pbytes  int
	// sound: the source's config, the file's (nil: the file has no audio
	// track), the AAC frames collected for the next fragment and the last
	// one's time
	aac, fileAAC *mpeg4audio.AudioSpecificConfig
	audio        []sample
	lastAudio    int64
	// soundEnd is where the sound received so far ends on the file's
	// timeline; 0: none yet
	soundEnd int64

	sps, pps  []byte // latest parameter sets, announced or in-band
	announced bool   // a new source announced sps/pps: the next IDR must carry them
	needKey   bool   // a failure lost frames: drop until the next keyframe
	askedKey  bool
	failing   bool
	// queue drops seen so far, and those when the current episode began
	drops, dropsFrom uint64
	dropping         bool
}

type sample struct {
	dts     int64 // output timeline, 90 kHz
	payload []byte
	idr     bool
	wall    time.Time
}

func newWriter(r *Recorder, names func(int) string) *writer {
	return &writer{r: r, names: names, frag: r.cfg.MaxFragment, tl: timeline.New(0, timescale)}
}

// openNext creates the next file of the recording: the first free name from
// NAME.mp4, NAME-2.mp4, … after the current one.
func (w *writer) openNext() error {
	for range 1000 {
		w.n++
		name := w.names(w.n)
		f, err := w.r.cfg.open(name)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			err = fmt.Errorf("record: cannot create %s: %w", name, cause(err))
			w.n-- // try the same name again next time
			w.r.update(func(s *Status) { s.Path = name })
			return err
		}
		w.f, w.name, w.off, w.dirty, w.seq, w.inited = f, name, 0, false, 0, false
		w.tl = timeline.New(0, timescale)
		w.sync = startSyncer(w.r, f, name)
		w.r.update(func(s *Status) {
			s.Path = name
			s.Files = append(s.Files, name)
		})
		return nil
	}
	return fmt.Errorf("record: no free file name after %s", w.names(w.n))
}

// cause drops the operation and path that *os.PathError adds, since the
// recorder's messages name the path themselves.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (w *writer) run() {
	r := w.r
	defer close(r.done)
	tick := time.NewTicker(w.frag / 2)
	defer tick.Stop()
	// After Close, the sound of the last pictures is still on its way.
	var soundTimer *time.Timer
	waited := false
	for {
		var waitOver <-chan time.Time
		if soundTimer != nil {
			waitOver = soundTimer.C
		}
		select {
		case <-r.wake:
		case <-waitOver:
			waited = true
		case <-tick.C:
			w.idleFlush()
			continue
		}
		items, drops, closed := r.take()
		w.noteQueueDrops(drops)
		for _, it := range items {
			w.handle(it)
		}
		if !closed {
			continue
		}
		if soundTimer == nil {
			soundTimer = time.NewTimer(r.cfg.soundWait)
			defer soundTimer.Stop()
		}
		if waited || w.soundCaughtUp() {
			for _, it := range r.end() {
				w.handle(it)
			}
			w.finish()
			return
		}
	}
}

// soundCaughtUp reports whether the sound received reaches the last
// pending picture (or the file has no sound to wait for).
func (w *writer) soundCaughtUp() bool {
	return w.fileAAC == nil || len(w.pending) == 0 || w.soundEnd > w.pending[len(w.pending)-1].dts
}

// noteQueueDrops logs when the queue starts and stops overflowing.
func (w *writer) noteQueueDrops(total uint64) {
	switch {
	case total > w.drops && !w.dropping:
		w.dropping, w.dropsFrom = true, w.drops
		w.r.log.Warn("the disk is not keeping up: dropping frames to the next keyframe", "path", w.name)
	case total == w.drops && w.dropping:
		w.dropping = false
		w.r.log.Info("the disk caught up", "path", w.name, "dropped", total-w.dropsFrom)
	}
	w.drops = total
}

func (w *writer) handle(it item) {
	switch it.kind {
	case itemStart:
		w.tl.NewSource()
		w.aac = it.aac
		if it.sps != nil && it.pps != nil {
			w.sps, w.pps, w.announced = it.sps, it.pps, true
		}
	case itemStop:
		// The last frame's duration is only known when the next source
		// starts (it lasts until then); everything before it goes to disk
		// now.
		w.tl.NewSource()
		w.flushKnown()
	case itemFrame:
		if it.audio {
			w.sound(it)
		} else {
			w.frame(it)
		}
	}
}

// sound collects an AAC frame for the next fragment, on the pictures'
// timeline. A file whose init segment has no audio track (the sound began
// after it) records the picture alone.
func (w *writer) sound(it item) {
	if w.fileAAC == nil || w.needKey {
		return
	}
	dts, ok := w.tl.Follow(it.pts)
	if !ok || dts < 0 || w.soundEnd != 0 && dts <= w.lastAudio {
		// Before the file's first picture (at 0: a recording started
		// while the program runs hears the sound of pictures it did not
		// take), or overlapping the last frame.
		return
	}
	w.lastAudio = dts
	w.soundEnd = dts + w.aacTicks()
	w.audio = append(w.audio, sample{dts: dts, payload: it.payload, wall: it.wall})
}

// aacTicks is one AAC frame's nominal duration.
func (w *writer) aacTicks() int64 {
	return int64(timescale * stream.AACFrameSamples / w.fileAAC.SampleRate)
}

func (w *writer) frame(it item) {
	if it.sps != nil {
		w.sps, w.announced = it.sps, false
	}
	if it.pps != nil {
		w.pps = it.pps
	}
	if !it.idr && (w.needKey || !w.inited) {
		if w.needKey {
			w.dropped(1)
		} else if !w.askedKey && w.r.cfg.OnKeyframeNeeded != nil {
			// Started in the middle of a GOP.
			w.askedKey = true
			w.r.cfg.OnKeyframeNeeded()
		}
		return
	}
	payload := it.payload
	if it.idr {
		if err := w.prepare(); err != nil {
			if w.sps == nil || w.pps == nil {
				return // nothing to describe the stream with yet
			}
			w.fail(err, 1)
			return
		}
		if w.announced && it.sps == nil {
			// The new source's parameter sets go in front of its first
			// keyframe, so a decoder reading the file switches to them.
			payload = prependParams(w.sps, w.pps, payload)
		}
		w.announced, w.needKey = false, false
	}
	dts := w.tl.Stamp(it.pts, it.wall)
	if len(w.pending) > 0 && (it.idr || dts-w.pending[0].dts >= w.tl.Ticks(w.frag) || w.pbytes+len(payload) > maxFragmentBytes) {
		w.flushHeard(dts)
		if w.needKey {
			// That write failed: the next fragment must begin with a
			// keyframe.
			if !it.idr {
				w.dropped(1)
				return
			}
			w.needKey = false
		}
	}
	w.pending = append(w.pending, sample{dts: dts, payload: payload, idr: it.idr, wall: it.wall})
	w.pbytes += len(payload)
}

func prependParams(sps, pps, payload []byte) []byte {
	b := make([]byte, 0, 8+len(sps)+len(pps)+len(payload))
	for _, n := range [][]byte{sps, pps} {
		l := len(n)
		b = append(b, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
		b = append(b, n...)
	}
	return append(b, payload...)
}

// prepare makes sure a file with an init segment matching the current
// parameter sets is open, before a keyframe. A new resolution ends the
// current file and starts the next one; new parameter sets with the same
// resolution continue the file (they travel in-band, in front of the
// keyframe).
func (w *writer) prepare() error {
	if w.sps == nil || w.pps == nil {
		return errors.New("no SPS/PPS yet")
	}
	var sps h264.SPS
	if err := sps.Unmarshal(w.sps); err != nil {
		return fmt.Errorf("record: unreadable SPS: %w", err)
	}
	width, height := sps.Width(), sps.Height()
	if w.f != nil && w.inited && (width != w.w || height != w.h) {
		w.r.log.Info("resolution changed: starting a new file", "from", fmt.Sprintf("%dx%d", w.w, w.h), "to", fmt.Sprintf("%dx%d", width, height))
		w.closeFile()
	}
	if w.f == nil {
		if err := w.openNext(); err != nil {
			return err
		}
		w.r.log.Info("recording", "path", w.name)
	}
	if !w.inited {
		init := fmp4.Init{Tracks: []*fmp4.InitTrack{{
			ID: trackID, TimeScale: timescale, Codec: &fmp4.CodecH264{SPS: w.sps, PPS: w.pps},
		}}}
		w.fileAAC, w.audio, w.lastAudio, w.soundEnd = w.aac, nil, 0, 0
		if w.aac != nil {
			init.Tracks = append(init.Tracks, &fmp4.InitTrack{
				ID: audioTrackID, TimeScale: timescale, Codec: &fmp4.CodecMPEG4Audio{Config: *w.aac},
			})
		}
		var buf seekablebuffer.Buffer
		if err := init.Marshal(&buf); err != nil {
			return fmt.Errorf("record: init segment: %w", err)
		}
		if err := w.write(buf.Bytes(), false); err != nil {
			return err
		}
		w.inited, w.w, w.h = true, width, height
	}
	return nil
}

// flushAll writes every pending sample as one fragment; next is the decode
// time of the sample that follows (it fixes the last one's duration).
func (w *writer) flushAll(next int64) {
	if len(w.pending) == 0 {
		return
	}
	w.writeFragment(w.pending, next)
	w.pending, w.pbytes = w.pending[:0], 0
}

// flushHeard writes as one fragment the pending pictures whose sound has
// arrived, and those older than soundWait before next (the decode time of
// the picture that follows), so a fragment's picture and sound end
// together and a kill cuts both at the same moment. Later pictures wait
// for the next fragment.
func (w *writer) flushHeard(next int64) {
	n := len(w.pending)
	if w.fileAAC != nil {
		cut := max(w.soundEnd, next-w.tl.Ticks(w.r.cfg.soundWait))
		n = 0
		for n < len(w.pending) && w.pending[n].dts < cut {
			n++
		}
	}
	if n == 0 {
		return
	}
	if n == len(w.pending) {
		w.flushAll(next)
		return
	}
	w.writeFragment(w.pending[:n], w.pending[n].dts)
	rest := w.pending[n:]
	if w.needKey {
		// That write failed: what follows it cannot be decoded.
		w.dropped(len(rest))
		rest = nil
	}
	w.pending = append(w.pending[:0], rest...)
	w.pbytes = 0
	for _, s := range w.pending {
		w.pbytes += len(s.payload)
	}
}

// flushKnown writes the pending samples whose duration is known: all but
// the last.
func (w *writer) flushKnown() {
	n := len(w.pending)
	if n < 2 {
		return
	}
	last := w.pending[n-1]
	w.writeFragment(w.pending[:n-1], last.dts)
	w.pending = append(w.pending[:0], last)
	w.pbytes = len(last.payload)
}

// idleFlush writes what is pending when no frame came for a fragment's
// duration (the source paused or hung without saying so).
func (w *writer) idleFlush() {
	if n := len(w.pending); n >= 2 && time.Since(w.pending[n-1].wall) >= w.frag {
		w.flushKnown()
	}
}

// writeFragment writes samples as one moof+mdat.
func (w *writer) writeFragment(ss []sample, next int64) {
	if w.f == nil || !w.inited {
		w.dropped(len(ss))
		return
	}
	samples := make([]*fmp4.Sample, len(ss))
	for i, s := range ss {
		end := next
		if i+1 < len(ss) {
			end = ss[i+1].dts
		}
		samples[i] = &fmp4.Sample{
			Duration:        uint32(min(max(end-s.dts, 1), math.MaxUint32)),
			IsNonSyncSample: !s.idr,
			Payload:         s.payload,
		}
	}
	w.seq++
	part := fmp4.Part{SequenceNumber: w.seq, Tracks: []*fmp4.PartTrack{{
		ID: trackID, BaseTime: uint64(ss[0].dts), Samples: samples,
	}}}
	sounds := len(w.audio)
	if sounds > 0 {
		part.Tracks = append(part.Tracks, w.audioTrack())
		w.audio = w.audio[:0]
	}
	var buf seekablebuffer.Buffer
	err := part.Marshal(&buf)
	if err == nil {
		err = w.write(buf.Bytes(), true)
	}
	if err != nil {
		w.seq--
		w.fail(err, len(ss))
		return
	}
	w.r.update(func(s *Status) {
		s.FramesWritten += uint64(len(ss))
		s.AudioFramesWritten += uint64(sounds)
	})
}

// audioTrack is the sound collected since the last fragment. Each AAC
// frame lasts until the next one, the last its nominal 1024 samples.
func (w *writer) audioTrack() *fmp4.PartTrack {
	nominal := w.aacTicks()
	t := &fmp4.PartTrack{ID: audioTrackID, BaseTime: uint64(w.audio[0].dts)}
	for i, s := range w.audio {
		d := nominal
		if i+1 < len(w.audio) {
			d = min(w.audio[i+1].dts-s.dts, 4*nominal)
		}
		t.Samples = append(t.Samples, &fmp4.Sample{Duration: uint32(max(d, 1)), Payload: s.payload})
	}
	return t
}

// write appends b at the end of the last complete fragment.
//
// A fragment becomes visible to readers only once it is complete: it is
// written with its moof box typed "free", and then the four type bytes are
// turned into "moof" with one small write that cannot be torn. If the
// process dies during the first write, the file ends with a "free" box and
// an mdat that nothing refers to, which readers skip; a torn moof would make
// ffmpeg reject the whole file ("error reading header").
//
// Nothing here waits for fsync: what a killed process wrote is in the page
// cache and reaches the disk anyway, and a sync stalled by other traffic on
// the disk would hold back the next fragments. The syncer flushes to the
// device in the background.
func (w *writer) write(b []byte, fragment bool) error {
	if w.dirty {
		if err := w.f.Truncate(w.off); err != nil {
			return fmt.Errorf("record: writing %s: %w", w.name, cause(err))
		}
		w.dirty = false
	}
	if fragment {
		copy(b[4:8], "free")
	}
	err := w.writeAt(b, w.off)
	if err == nil && fragment {
		err = w.writeAt([]byte("moof"), w.off+4)
	}
	if err != nil {
		// Cut what a failed write left, so the next fragment follows the
		// last complete one (with a full disk, truncating frees the space).
		w.dirty = true
		if w.f.Truncate(w.off) == nil {
			w.dirty = false
		}
		return fmt.Errorf("record: writing %s: %w", w.name, cause(err))
	}
	w.off += int64(len(b))
	w.sync.kick()
	w.r.update(func(s *Status) {
		s.Bytes += uint64(len(b))
		if s.State == Failed {
			s.State = Recording
		}
	})
	if w.failing {
		w.failing = false
		w.r.log.Info("recording resumed", "path", w.name)
	}
	return nil
}

func (w *writer) writeAt(b []byte, off int64) error {
	for len(b) > 0 {
		n, err := w.f.WriteAt(b, off)
		if err != nil {
			return err
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// fail reports an error that cost n frames; the recording skips to the next
// keyframe and tries again there.
func (w *writer) fail(err error, n int) {
	w.needKey = true
	w.dropped(n)
	w.r.update(func(s *Status) {
		s.State = Failed
		s.Err = err
	})
	if !w.failing {
		w.failing = true
		w.r.log.Error("recording failed; dropping frames and retrying at each keyframe", "err", err)
	}
}

func (w *writer) dropped(n int) {
	if n > 0 {
		w.r.update(func(s *Status) { s.FramesDropped += uint64(n) })
	}
}

// closeFile flushes the pending samples (the last one lasts one frame),
// syncs and closes the current file. A file that never got a frame is
// removed.
func (w *writer) closeFile() {
	if w.f == nil {
		return
	}
	w.flushAll(w.pendingEnd())
	w.sync.stop()
	var err error
	if w.off == 0 {
		err = w.f.Close()
		_ = os.Remove(w.name)
		name := w.name
		w.r.update(func(s *Status) {
			for i, f := range s.Files {
				if f == name {
					s.Files = append(s.Files[:i], s.Files[i+1:]...)
					break
				}
			}
		})
	} else {
		if err = w.f.Sync(); err == nil {
			err = w.f.Close()
		} else {
			w.f.Close()
		}
	}
	if err != nil {
		w.fail(fmt.Errorf("record: closing %s: %w", w.name, cause(err)), 0)
	}
	w.f, w.inited = nil, false
}

// pendingEnd is where the last pending sample ends when nothing follows it:
// one frame interval after it starts.
func (w *writer) pendingEnd() int64 {
	if len(w.pending) == 0 {
		return 0
	}
	return w.pending[len(w.pending)-1].dts + w.tl.FrameTicks()
}

// finish ends the recording on Close.
func (w *writer) finish() {
	w.closeFile()
	w.r.update(func(s *Status) {
		if s.State == Failed {
			w.r.closeErr = s.Err
		}
		s.State = Stopped
	})
	w.r.log.Info("recording stopped", "path", w.name)
}

// syncer flushes a file to its device in the background, once after each
// batch of writes, so that a power cut loses seconds, not the page cache's
// half minute.
type syncer struct {
	r    *Recorder
	f    file
	name string
	wake chan struct{}
	done chan struct{}
}

func startSyncer(r *Recorder, f file, name string) *syncer {
	s := &syncer{r: r, f: f, name: name, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *syncer) run() {
	defer close(s.done)
	for range s.wake {
		if err := s.f.Sync(); err != nil {
			err = fmt.Errorf("record: syncing %s: %w", s.name, cause(err))
			s.r.log.Error("recording may not reach the disk", "err", err)
			s.r.update(func(st *Status) { st.State, st.Err = Failed, err })
		}
	}
}

// kick asks for a sync; kicks while one runs make one more.
func (s *syncer) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// stop waits for a sync under way.
func (s *syncer) stop() {
	close(s.wake)
	<-s.done
}
