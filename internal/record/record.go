// Package record writes the program to disk as fragmented MP4 that stays
// playable whatever happens to the process: every fragment is written whole
// before it becomes visible to readers, so a SIGKILL, a crash or a full disk
// at any moment leaves a file that ends at the last complete fragment.
//
// A Recorder is a stream.Sink. Its Sink calls only copy the access unit into a
// bounded queue and return; one goroutine per recording does all file work.
// When the disk is slow or full and the queue fills, the recorder drops
// frames up to the next keyframe, counts them, and carries on; the live
// outputs that share the stream never wait for it.
//
// See README.md in this directory for the file layout and the reasons for it.
package record

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/onair-studio/onair/internal/diskspace"
	"github.com/onair-studio/onair/internal/stream"
)

// Config describes one recording.
type Config struct {
	// Path is where the file goes. Its name without the extension is a Go
	// time layout filled in with the start time ("onair-2006-01-02-150405.mp4"
	// gives "onair-2025-11-21-165200.mp4"); the directory and the extension
	// are taken as written, and the directory is created if missing.
	// Digits and names such as Jan, Mon or PM in the name are layout
	// elements, so literal text should avoid them. A
	// recording that has to start a new file (the resolution changed) names
	// it NAME-2.mp4, NAME-3.mp4, and so on. An existing file is never
	// overwritten: the first free name in that sequence is used.
	Path string
	// Source is the stream path to record, such as "program" or a rendition
	// path. Calls for other paths are ignored.
	Source string
	// MaxFragment bounds a fragment's duration (default 1 s). A fragment
	// ends at each keyframe or when it reaches MaxFragment, whichever comes
	// first; a crash loses the fragment being collected and what is still
	// queued for the disk.
	MaxFragment time.Duration
	// QueueFrames and QueueBytes bound what waits for the disk (defaults
	// 300 frames, 64 MiB). Beyond them frames are dropped to the next
	// keyframe.
	QueueFrames int
	QueueBytes  int
	// CloseTimeout bounds how long Close waits for the disk (default 10 s).
	CloseTimeout time.Duration
	// OnKeyframeNeeded, if set, asks the encoder for an IDR when the
	// recording starts in the middle of a GOP, so it starts at once. It is
	// called from the recorder's own goroutine.
	OnKeyframeNeeded func()
	Log              *slog.Logger

	// open creates a recording file and freeSpace measures a directory's
	// disk; tests replace them to stall, fill or fail the disk.
	open      func(name string) (file, error)
	freeSpace func(dir string) (int64, error)
	// soundWait is how long pictures wait for their sound (default
	// maxSoundWait); tests lengthen it so a loaded machine cannot cut it.
	soundWait time.Duration
}

// maxSoundWait bounds how long pictures wait for the sound that goes with
// them, which arrives some 250 ms later (mixing, AAC framing): each
// fragment's pictures end where its sound ends, and Close waits for the
// last sound, but a stalled or absent sound never holds pictures back
// longer than this.
const maxSoundWait = 500 * time.Millisecond

// minFree is the least free space New accepts: a few seconds of video at a
// high bitrate. Below it the disk counts as full.
const minFree = 8 << 20

// State is where a recording stands.
type State string

const (
	// Recording: the file is open and fragments are being written (or the
	// recorder waits for the stream's first keyframe).
	Recording State = "recording"
	// Failed: the last attempt to write failed (Status.Err says why). The
	// recorder keeps trying at each keyframe and returns to Recording when a
	// write succeeds, for example once disk space is freed.
	Failed State = "failed"
	// Stopped: Close was called.
	Stopped State = "stopped"
)

// Status is a recording's state and counters.
type Status struct {
	State State
	Path  string   // the file being written (or the one that failed)
	Files []string // every file of this recording, in order
	Bytes uint64   // bytes written to all files
	// FramesWritten counts frames in fragments that reached the file.
	FramesWritten uint64
	// AudioFramesWritten counts the AAC frames among them (FramesWritten
	// counts pictures).
	AudioFramesWritten uint64
	// FramesDropped counts frames lost to a full queue (slow disk) or to a
	// failed write, including those skipped up to the next keyframe.
	FramesDropped uint64
	Err           error // the last error; kept after recovering
}

// Recorder records one stream path. It implements stream.Sink.
type Recorder struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}
	done chan struct{}

	mu       sync.Mutex
	queue    []item
	qbytes   int
	qframes  int  // pictures queued: sound counts only in bytes
	dropping bool // a frame was dropped: drop until the next keyframe
	// queueDrops counts frames dropped because the queue was full.
	queueDrops uint64
	// closed: Close was called; only sound is still taken, until the
	// writer has it all (ended).
	closed   bool
	ended    bool
	st       Status
	closeErr error // set by the writer before it ends

	w *writer // owned by the writer goroutine
}

var _ stream.Sink = (*Recorder)(nil)

type itemKind int

const (
	itemFrame itemKind = iota
	itemStart
	itemStop
)

// item is one event handed from the Sink calls to the writer.
type item struct {
	kind     itemKind
	sps, pps []byte                          // itemStart: announced; itemFrame: in-band, if any
	aac      *mpeg4audio.AudioSpecificConfig // itemStart: the source's sound, if any
	audio    bool                            // itemFrame: an AAC frame, not a picture
	payload  []byte                          // itemFrame: the access unit, AVCC (length-prefixed), or the AAC frame
	pts      time.Duration                   // itemFrame
	idr      bool
	wall     time.Time // arrival
}

// New creates the first file and starts recording cfg.Source. It fails at
// once, naming the path, when the file cannot be created or its disk is
// (nearly) full.
func New(cfg Config) (*Recorder, error) {
	if cfg.Path == "" {
		return nil, errors.New("record: no path")
	}
	if cfg.Source == "" {
		cfg.Source = "program"
	}
	if cfg.MaxFragment <= 0 {
		cfg.MaxFragment = time.Second
	}
	if cfg.QueueFrames <= 0 {
		cfg.QueueFrames = 300
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = 64 << 20
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.open == nil {
		cfg.open = openFile
	}
	if cfg.freeSpace == nil {
		cfg.freeSpace = diskspace.Free
	}
	if cfg.soundWait <= 0 {
		cfg.soundWait = maxSoundWait
	}
	r := &Recorder{
		cfg:  cfg,
		log:  cfg.Log.With("recording", cfg.Source),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	r.w = newWriter(r, namer(cfg.Path, time.Now()))
	if err := r.w.openNext(); err != nil {
		return nil, err
	}
	if free, err := cfg.freeSpace(filepath.Dir(r.w.name)); err == nil && free < minFree {
		r.w.closeFile() // empty: removed
		return nil, fmt.Errorf("record: cannot record to %s: %w (%d KiB free)", r.w.name, syscall.ENOSPC, free>>10)
	}
	r.st.State = Recording
	r.log.Info("recording", "path", r.w.name)
	go r.w.run()
	return r, nil
}

// namer returns the n-th (1-based) candidate file name of a recording.
func namer(pattern string, start time.Time) func(n int) string {
	dir, base := filepath.Split(pattern)
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	if ext == "" {
		ext = ".mp4"
	}
	stem = start.Format(stem)
	return func(n int) string {
		if n <= 1 {
			return filepath.Join(dir, stem+ext)
		}
		return filepath.Join(dir, fmt.Sprintf("%s-%d%s", stem, n, ext))
	}
}

// file is what the recorder needs of a file; *os.File has it.
type file interface {
	WriteAt(b []byte, off int64) (int, error)
	Truncate(size int64) error
	Sync() error
	Close() error
}

func openFile(name string) (file, error) {
	if dir := filepath.Dir(name); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// SourceStarted implements stream.Sink: a publisher (re)started on path, its
// clock starts over and its tracks describe its stream.
func (r *Recorder) SourceStarted(path string, t stream.Tracks) {
	if path != r.cfg.Source {
		return
	}
	r.push(item{kind: itemStart, sps: clone(t.SPS()), pps: clone(t.PPS()), aac: t.Audio, wall: time.Now()}, 0)
}

// SourceStopped implements stream.Sink.
func (r *Recorder) SourceStopped(path string) {
	if path != r.cfg.Source {
		return
	}
	r.push(item{kind: itemStop, wall: time.Now()}, 0)
}

// Unit implements stream.Sink. It copies the access unit into the queue and
// returns; it never waits for the disk.
func (r *Recorder) Unit(path string, au stream.Unit) {
	if path != r.cfg.Source {
		return
	}
	if au.Kind == stream.Audio {
		r.audio(au)
		return
	}
	it := item{kind: itemFrame, pts: au.PTS, wall: time.Now()}
	size := 0
	for _, n := range au.NALUs {
		if len(n) == 0 {
			continue
		}
		size += 4 + len(n)
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeIDR:
			it.idr = true
		case h264.NALUTypeSPS:
			it.sps = n
		case h264.NALUTypePPS:
			it.pps = n
		}
	}
	if size == 0 {
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	if (r.dropping && !it.idr) || r.qframes >= r.cfg.QueueFrames || r.qbytes+size > r.cfg.QueueBytes {
		// The writer logs this: logging here could block on the log's
		// own output.
		r.dropping = true
		r.st.FramesDropped++
		r.queueDrops++
		r.mu.Unlock()
		return
	}
	r.dropping = false
	r.mu.Unlock()

	// Copy outside the lock: the caller keeps its buffers.
	it.payload = make([]byte, 0, size)
	for _, n := range au.NALUs {
		if len(n) == 0 {
			continue
		}
		l := len(n)
		it.payload = append(it.payload, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
		it.payload = append(it.payload, n...)
	}
	it.sps, it.pps = clone(it.sps), clone(it.pps)
	r.push(it, size)
}

// audio queues an AAC frame; while pictures are being dropped to the next
// keyframe, sound is dropped with them.
func (r *Recorder) audio(au stream.Unit) {
	r.mu.Lock()
	full := r.dropping || r.ended || r.qbytes+len(au.AAC) > r.cfg.QueueBytes
	r.mu.Unlock()
	if full || len(au.AAC) == 0 {
		return
	}
	r.push(item{kind: itemFrame, audio: true, payload: clone(au.AAC), pts: au.PTS, wall: time.Now()}, len(au.AAC))
}

// push queues an item and wakes the writer. Start and stop events are never
// dropped: they are tiny and rare. After Close only sound is taken.
func (r *Recorder) push(it item, size int) {
	r.mu.Lock()
	if r.ended || r.closed && !it.audio {
		r.mu.Unlock()
		return
	}
	r.queue = append(r.queue, it)
	r.qbytes += size
	if it.kind == itemFrame && !it.audio {
		r.qframes++
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// take hands the whole queue to the writer.
func (r *Recorder) take() (items []item, queueDrops uint64, closed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	items, r.queue, r.qbytes, r.qframes = r.queue, nil, 0, 0
	return items, r.queueDrops, r.closed
}

// end refuses everything from now on and hands the writer what came last.
func (r *Recorder) end() []item {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = true
	items := r.queue
	r.queue, r.qbytes, r.qframes = nil, 0, 0
	return items
}

// Status returns the recording's state and counters.
func (r *Recorder) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.st
	s.Files = append([]string(nil), r.st.Files...)
	return s
}

// update changes the status under the lock.
func (r *Recorder) update(f func(s *Status)) {
	r.mu.Lock()
	f(&r.st)
	r.mu.Unlock()
}

// Close stops recording: pictures stop at once, the sound that goes with
// them is awaited (at most half a second), what is queued is written, the
// last fragment is flushed and the file synced and closed. If the disk does not answer within
// CloseTimeout, Close returns an error and the file keeps every fragment
// completed so far.
func (r *Recorder) Close() error {
	r.mu.Lock()
	already := r.closed
	r.closed = true
	r.mu.Unlock()
	if !already {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	t := time.NewTimer(r.cfg.CloseTimeout)
	defer t.Stop()
	select {
	case <-r.done:
	case <-t.C:
		err := fmt.Errorf("record: %s: the disk did not finish within %v; the file ends at the last complete fragment", r.Status().Path, r.cfg.CloseTimeout)
		r.update(func(s *Status) { s.Err = err })
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closeErr
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
