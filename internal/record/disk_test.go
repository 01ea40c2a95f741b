package record

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

// faultyFile is a recording file whose disk the test controls: it can stall
// every operation, hold only so many bytes (a full disk), or die part-way
// through a write the way a killed process does.
type faultyFile struct {
	f    *os.File
	disk *disk
}

type disk struct {
	mu       sync.Mutex
	stall    chan struct{} // while non-nil, operations wait for it to close
	stalled  int           // operations waiting now
	capacity int64         // bytes the file may hold; 0 for no limit
	full     bool          // a write hit capacity; every write fails until setCapacity
	// writes lists every WriteAt as it was asked for.
	writes []write
	// crashWrite, when positive, is the WriteAt call (1-based) during which
	// the process "dies" after crashBytes of it: the file is copied to
	// crashCopy as a killed process would leave it, and every later
	// operation fails.
	crashWrite int
	crashBytes int64
	crashed    bool
	crashCopy  []byte
}

type write struct{ off, n int64 }

func (d *disk) open(name string) (file, error) {
	f, err := openFile(name)
	if err != nil {
		return nil, err
	}
	return &faultyFile{f: f.(*os.File), disk: d}, nil
}

func (d *disk) setStall(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case on && d.stall == nil:
		d.stall = make(chan struct{})
	case !on && d.stall != nil:
		close(d.stall)
		d.stall = nil
	}
}

func (d *disk) waiting() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stalled
}

func (d *disk) setCapacity(n int64) {
	d.mu.Lock()
	d.capacity, d.full = n, false
	d.mu.Unlock()
}

// wait blocks while the disk is stalled.
func (d *disk) wait() {
	d.mu.Lock()
	ch := d.stall
	if ch != nil {
		d.stalled++
	}
	d.mu.Unlock()
	if ch != nil {
		<-ch
		d.mu.Lock()
		d.stalled--
		d.mu.Unlock()
	}
}

var errCrashed = errors.New("process is dead")

func (ff *faultyFile) WriteAt(b []byte, off int64) (int, error) {
	d := ff.disk
	d.wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.crashed {
		return 0, errCrashed
	}
	n := int64(len(b))
	d.writes = append(d.writes, write{off, n})
	var err error
	if d.full || d.capacity > 0 && off+n > d.capacity {
		n = max(d.capacity-off, 0)
		if d.full {
			n = 0
		}
		// A full disk stays full: other writers take what the recorder
		// cuts off, so no smaller retry fits until setCapacity frees room.
		d.full = true
		err = &fs.PathError{Op: "write", Path: ff.f.Name(), Err: syscall.ENOSPC}
	}
	if len(d.writes) == d.crashWrite {
		n = min(n, d.crashBytes)
		d.crashed = true
		err = errCrashed
	}
	if n > 0 {
		if _, werr := ff.f.WriteAt(b[:n], off); werr != nil {
			return 0, werr
		}
	}
	if d.crashed {
		d.crashCopy, _ = os.ReadFile(ff.f.Name())
	}
	return int(n), err
}

func (ff *faultyFile) Truncate(size int64) error {
	ff.disk.wait()
	if ff.dead() {
		return errCrashed
	}
	return ff.f.Truncate(size)
}

func (ff *faultyFile) Sync() error {
	ff.disk.wait()
	if ff.dead() {
		return errCrashed
	}
	return ff.f.Sync()
}

func (ff *faultyFile) Close() error { return ff.f.Close() }

func (ff *faultyFile) dead() bool {
	ff.disk.mu.Lock()
	defer ff.disk.mu.Unlock()
	return ff.disk.crashed
}

// A disk that stalls never holds up the Sink calls: frames are dropped to the
// next keyframe and counted, and recording resumes cleanly afterwards.
func TestSlowDisk(t *testing.T) {
	t.Parallel()
	c := loadClip(t, testpeer.ClipOptions{Seconds: 5})
	d := &disk{}
	rec, err := New(Config{Path: filepath.Join(t.TempDir(), "show.mp4"), QueueFrames: 20, Log: testpeer.Logger(t), open: d.open})
	if err != nil {
		t.Fatal(err)
	}
	f := &feeder{sink: rec, path: "program", realtime: true}
	f.start(c.sps, c.pps)
	const stallAt, releaseAt = 15, 100
	var droppedWhileStalled uint64
	var blocked int
	f.feed(c.aus, 0, len(c.aus), time.Now(), func(i int) {
		switch i {
		case stallAt:
			d.setStall(true)
		case releaseAt:
			st := rec.Status()
			droppedWhileStalled, blocked = st.FramesDropped, d.waiting()
			d.setStall(false)
		}
	})
	f.stop()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	st := rec.Status()
	t.Logf("status %+v; dropped while stalled %d; writer blocked in %d disk calls; slowest Sink call %v",
		st, droppedWhileStalled, blocked, f.slowest())
	if blocked == 0 || droppedWhileStalled == 0 {
		t.Fatalf("the stall did not block the writer (%d) or drop frames (%d)", blocked, droppedWhileStalled)
	}
	// The stall lasted close to 3 s: a call that waited for the disk would
	// show it.
	if f.slowest() > blockedCall {
		t.Errorf("a Sink call took %v while the disk stalled", f.slowest())
	}
	if st.FramesWritten+st.FramesDropped != uint64(len(c.aus)) || st.FramesDropped < 30 {
		t.Errorf("written %d + dropped %d, want %d with a stall of ~3 s", st.FramesWritten, st.FramesDropped, len(c.aus))
	}

	p := checkPlayable(t, st.Path)
	t.Logf("ffprobe %+v", p)
	if p.Packets != int(st.FramesWritten) || p.Frames != p.Packets {
		t.Errorf("ffprobe %+v, want %d packets decoded", p, st.FramesWritten)
	}
	// One hole, after which the picture resumes on a keyframe at the time it
	// was fed: the file keeps real time.
	pkts := testpeer.ProbePackets(t, st.Path)
	holes := 0
	for i, s := range ptsSteps(pkts) {
		if within(s, frameDur, time.Millisecond) {
			continue
		}
		holes++
		t.Logf("hole: PTS %v -> %v, resuming on a keyframe: %v", pkts[i].PTS, pkts[i+1].PTS, pkts[i+1].Key)
		if s < frameDur || !pkts[i+1].Key {
			t.Errorf("step %v at packet %d into a non-keyframe", s, i)
		}
	}
	if holes != 1 {
		t.Errorf("%d holes, want 1", holes)
	}
	if last := pkts[len(pkts)-1].PTS; !within(last, c.aus[len(c.aus)-1].PTS, time.Millisecond) {
		t.Errorf("last frame at %v, fed at %v", last, c.aus[len(c.aus)-1].PTS)
	}
}

// Close does not hang on a disk that does not answer; the writer finishes
// on its own once the disk does.
func TestCloseStalledDisk(t *testing.T) {
	t.Parallel()
	c := loadClip(t, testpeer.ClipOptions{Seconds: 2})
	d := &disk{}
	rec, err := New(Config{Path: filepath.Join(t.TempDir(), "show.mp4"), CloseTimeout: 300 * time.Millisecond, open: d.open})
	if err != nil {
		t.Fatal(err)
	}
	f := &feeder{sink: rec, path: "program"}
	f.start(c.sps, c.pps)
	f.feed(c.aus, 0, 30, time.Time{}, nil)
	testpeer.Await(t, 5*time.Second, "the init segment", func() bool { return rec.Status().Bytes > 0 })
	d.setStall(true)
	f.feed(c.aus, 30, 31, time.Time{}, nil) // ends the first GOP's fragment
	testpeer.Await(t, 5*time.Second, "the writer to block", func() bool { return d.waiting() > 0 })
	start := time.Now()
	err = rec.Close()
	took := time.Since(start)
	t.Logf("Close on a stalled disk: %v after %v", err, took.Round(time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), rec.Status().Path) || took > 5*time.Second {
		t.Fatalf("Close: %v after %v, want a timeout error naming the file", err, took)
	}
	d.setStall(false)
	testpeer.Await(t, 5*time.Second, "the writer to finish", func() bool { return rec.Status().State == Stopped })
	st := rec.Status()
	if p := checkPlayable(t, st.Path); p.Packets != 31 {
		t.Errorf("ffprobe %+v, want the 31 frames fed", p)
	}
}

// A disk that is full already is reported by New.
func TestFullDiskUpFront(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "show.mp4")
	_, err := New(Config{Path: path, freeSpace: func(string) (int64, error) { return 100 << 10, nil }})
	t.Logf("New: %v", err)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) {
		t.Fatalf("New: %v, want ENOSPC naming %s", err, path)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused recording left a file: %v", err)
	}
}

// A full disk fails the recording with a clear error; the file stays
// playable (a half-written fragment is cut off), and recording resumes at a
// keyframe once there is room again.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	c := loadClip(t, testpeer.ClipOptions{Seconds: 5})
	d := &disk{capacity: 400 << 10} // the init segment and one GOP fit
	rec, err := New(Config{Path: filepath.Join(t.TempDir(), "show.mp4"), Log: testpeer.Logger(t), open: d.open})
	if err != nil {
		t.Fatal(err)
	}
	f := &feeder{sink: rec, path: "program"}
	f.start(c.sps, c.pps)
	f.feed(c.aus, 0, 75, time.Time{}, nil)
	testpeer.Await(t, 5*time.Second, "the disk to fill", func() bool { return rec.Status().State == Failed })
	st := rec.Status()
	t.Logf("full: %+v", st)
	if !errors.Is(st.Err, syscall.ENOSPC) || !strings.Contains(st.Err.Error(), st.Path) {
		t.Errorf("error %v, want ENOSPC naming %s", st.Err, st.Path)
	}
	if size := fileSize(t, st.Path); uint64(size) != st.Bytes {
		t.Errorf("after the failed write the file has %d bytes, want the %d of complete fragments", size, st.Bytes)
	}
	if p := checkPlayable(t, st.Path); p.Packets != int(st.FramesWritten) {
		t.Errorf("while failed: ffprobe %+v, want %d packets", p, st.FramesWritten)
	}

	d.setCapacity(0) // space freed
	f.feed(c.aus, 75, len(c.aus), time.Time{}, nil)
	testpeer.Await(t, 5*time.Second, "recording to resume", func() bool {
		st := rec.Status()
		return st.State == Recording && st.FramesWritten+st.FramesDropped >= uint64(len(c.aus))-30
	})
	f.stop()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	st = rec.Status()
	t.Logf("after: %+v", st)
	if st.FramesWritten+st.FramesDropped != uint64(len(c.aus)) || st.FramesDropped == 0 {
		t.Errorf("written %d + dropped %d, want %d", st.FramesWritten, st.FramesDropped, len(c.aus))
	}
	if !errors.Is(st.Err, syscall.ENOSPC) {
		t.Errorf("the last error is kept after recovering: %v", st.Err)
	}
	p := checkPlayable(t, st.Path)
	t.Logf("ffprobe %+v", p)
	if p.Packets != int(st.FramesWritten) || p.Frames != p.Packets {
		t.Errorf("ffprobe %+v, want %d packets decoded", p, st.FramesWritten)
	}
}

// Whatever byte a write stops at when the process dies, the file reads and
// decodes cleanly up to the last complete fragment.
func TestTornFragment(t *testing.T) {
	t.Parallel()
	c := loadClip(t, testpeer.ClipOptions{Seconds: 3})
	record := func(d *disk) string {
		path := filepath.Join(t.TempDir(), "show.mp4")
		rec, err := New(Config{Path: path, open: d.open})
		if err != nil {
			t.Fatal(err)
		}
		f := &feeder{sink: rec, path: "program"}
		f.start(c.sps, c.pps)
		f.feed(c.aus, 0, len(c.aus), time.Time{}, nil)
		rec.Close()
		return path
	}
	// The layout of a whole recording: where the third fragment lies, and
	// which writes put it there.
	ref := &disk{}
	whole, err := os.ReadFile(record(ref))
	if err != nil {
		t.Fatal(err)
	}
	boxes := topLevelBoxes(t, whole)
	var frag []box // moof, mdat of each fragment
	for i, b := range boxes {
		if b.typ == "moof" {
			frag = append(frag, b, boxes[i+1])
		}
	}
	if len(frag) != 6 {
		t.Fatalf("want 3 fragments (one per GOP), layout %v", boxes)
	}
	moof, mdat := frag[4], frag[5]
	end := mdat.off + mdat.size
	fragWrite, flipWrite := 0, 0
	for i, w := range ref.writes {
		switch {
		case w.off == moof.off && w.n == end-moof.off:
			fragWrite = i + 1
		case w.off == moof.off+4 && w.n == 4:
			flipWrite = i + 1
		}
	}
	t.Logf("third fragment: moof %d+%d, mdat %d+%d; written by call %d, released by call %d of %v",
		moof.off, moof.size, mdat.off, mdat.size, fragWrite, flipWrite, ref.writes)
	if fragWrite == 0 || flipWrite != fragWrite+1 {
		t.Fatal("the fragment was not written in one call and then released")
	}
	type cut struct {
		call  int
		bytes int64
	}
	cuts := map[string]cut{
		"in the moof header":        {fragWrite, 3},
		"in the moof":               {fragWrite, moof.size / 2},
		"in the mdat header":        {fragWrite, moof.size + 5},
		"in the mdat":               {fragWrite, moof.size + mdat.size/2},
		"one byte short":            {fragWrite, end - moof.off - 1},
		"written, not yet released": {flipWrite, 0},
	}
	for name, c := range cuts {
		d := &disk{crashWrite: c.call, crashBytes: c.bytes}
		record(d)
		want := moof.off + c.bytes
		if c.call == flipWrite {
			want = end
		}
		if d.crashCopy == nil || int64(len(d.crashCopy)) != want {
			t.Fatalf("%s: the crash left %d bytes, want %d", name, len(d.crashCopy), want)
		}
		path := filepath.Join(t.TempDir(), "torn.mp4")
		if err := os.WriteFile(path, d.crashCopy, 0o644); err != nil {
			t.Fatal(err)
		}
		p := checkPlayable(t, path)
		t.Logf("killed %s (file ends at byte %d; the fragment spans %d-%d): %+v", name, want, moof.off, end, p)
		if p.Packets != 2*fps || p.Frames != 2*fps || !within(p.Duration, 2*time.Second, frameDur) {
			t.Errorf("killed %s: %+v, want the first two fragments (60 frames, 2 s)", name, p)
		}
		if name == "in the moof" {
			// For the record: had the moof been written as a moof, this
			// cut would leave a file ffmpeg cannot open at all.
			naive := append([]byte(nil), d.crashCopy...)
			copy(naive[moof.off+4:], "moof")
			npath := filepath.Join(t.TempDir(), "naive.mp4")
			if err := os.WriteFile(npath, naive, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("ffprobe", "-v", "error", npath).CombinedOutput()
			t.Logf("the same cut with a plain moof: ffprobe %v: %s", err, strings.TrimSpace(string(out)))
		}
	}
}

type box struct {
	typ       string
	off, size int64
}

func topLevelBoxes(t *testing.T, b []byte) []box {
	var boxes []box
	for off := int64(0); off+8 <= int64(len(b)); {
		size := int64(binary.BigEndian.Uint32(b[off:]))
		if size < 8 {
			t.Fatalf("box at %d has size %d", off, size)
		}
		boxes = append(boxes, box{typ: string(b[off+4 : off+8]), off: off, size: size})
		off += size
	}
	return boxes
}
