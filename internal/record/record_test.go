package record

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

const frameDur = time.Second / fps

// A reference clip fed at real time comes out frame for frame.
func TestRecordClip(t *testing.T) {
	t.Parallel()
	c := loadClip(t, testpeer.ClipOptions{Seconds: 3})
	dir := t.TempDir()
	rec, err := New(Config{Path: filepath.Join(dir, "onair-2006-01-02-150405.mp4"), Source: "program", Log: testpeer.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if p := rec.Status().Path; filepath.Dir(p) != dir || !regexp.MustCompile(`^onair-\d{4}-\d\d-\d\d-\d{6}\.mp4$`).MatchString(filepath.Base(p)) {
		t.Fatalf("path %s, want onair-YYYY-MM-DD-hhmmss.mp4 in %s", p, dir)
	}
	f := &feeder{sink: rec, path: "program", realtime: true}
	other := &feeder{sink: rec, path: "rendition-360p"}
	f.start(c.sps, c.pps)
	f.feed(c.aus, 0, len(c.aus), time.Now(), func(i int) {
		// Another path's frames are not this recording's business.
		other.feed(c.aus, i, i+1, time.Time{}, nil)
	})
	f.stop()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	st := rec.Status()
	t.Logf("status %+v; slowest Sink call %v", st, f.slowest())
	if st.State != Stopped || len(st.Files) != 1 || st.FramesWritten != uint64(len(c.aus)) || st.FramesDropped != 0 {
		t.Fatalf("status %+v, want stopped, 1 file, %d frames written, none dropped", st, len(c.aus))
	}
	if size := fileSize(t, st.Path); uint64(size) != st.Bytes {
		t.Errorf("file has %d bytes, status says %d", size, st.Bytes)
	}
	p := checkPlayable(t, st.Path)
	t.Logf("ffprobe: %+v", p)
	wantDur := time.Duration(len(c.aus)) * frameDur
	if p.Packets != len(c.aus) || p.Frames != len(c.aus) || p.Width != 640 || p.Height != 360 || !within(p.Duration, wantDur, frameDur) {
		t.Fatalf("ffprobe %+v, want %d packets and frames, 640x360, %v", p, len(c.aus), wantDur)
	}
	pkts := testpeer.ProbePackets(t, st.Path)
	for i, pk := range pkts {
		if want := time.Duration(i) * frameDur; !within(pk.PTS, want, time.Millisecond) || pk.Key != c.aus[i].IDR {
			t.Fatalf("packet %d: pts %v key %v, want %v key %v", i, pk.PTS, pk.Key, want, c.aus[i].IDR)
		}
	}
}

// An encoder restart (new clock from 0, new SPS/PPS, same size) continues the
// file with a gap; a new resolution starts NAME-2.mp4.
func TestEncoderRestart(t *testing.T) {
	t.Parallel()
	a := loadClip(t, testpeer.ClipOptions{Seconds: 2})
	// The restarted encoder uses other settings (High profile instead of
	// Constrained Baseline) and sends its parameter sets only when it
	// announces itself, not in-band.
	b := loadClip(t, testpeer.ClipOptions{Seconds: 2, Preset: "veryfast"}).withoutParams()
	small := loadClip(t, testpeer.ClipOptions{Seconds: 1, Width: 320, Height: 180})
	dir := t.TempDir()
	rec, err := New(Config{Path: filepath.Join(dir, "show.mp4"), Log: testpeer.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	f := &feeder{sink: rec, path: "program", realtime: true}

	f.start(a.sps, a.pps)
	at := time.Now()
	f.feed(a.aus, 0, len(a.aus), at, nil)
	f.stop()
	// The new encoder's first frame arrives half a second after the old
	// one's last would have been followed.
	const offAir = 500 * time.Millisecond
	at = at.Add(time.Duration(len(a.aus))*frameDur + offAir)
	f.start(b.sps, b.pps)
	f.feed(b.aus, 0, len(b.aus), at, nil)
	f.stop()
	f.start(small.sps, small.pps)
	f.feed(small.aus, 0, len(small.aus), time.Now(), nil)
	f.stop()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	st := rec.Status()
	t.Logf("status %+v; slowest Sink call %v", st, f.slowest())
	wantFiles := []string{filepath.Join(dir, "show.mp4"), filepath.Join(dir, "show-2.mp4")}
	if len(st.Files) != 2 || st.Files[0] != wantFiles[0] || st.Files[1] != wantFiles[1] {
		t.Fatalf("files %v, want %v", st.Files, wantFiles)
	}

	n := len(a.aus) + len(b.aus)
	p := checkPlayable(t, st.Files[0])
	t.Logf("first file: %+v", p)
	if p.Packets != n || p.Frames != n || p.Width != 640 || p.Height != 360 {
		t.Fatalf("first file %+v, want %d packets and decoded frames at 640x360", p, n)
	}
	pkts := testpeer.ProbePackets(t, st.Files[0])
	steps := ptsSteps(pkts)
	for i, s := range steps {
		if i == len(a.aus)-1 {
			t.Logf("restart: PTS %v -> %v (step %v); first frame of the new encoder is key: %v",
				pkts[i].PTS, pkts[i+1].PTS, s, pkts[i+1].Key)
			// The gap is the time off air (plus scheduling, which a loaded
			// machine can stretch), never a step back nor double the outage.
			if s < offAir || s > 2*offAir || !pkts[i+1].Key {
				t.Errorf("restart step %v, want about %v then a keyframe", s, offAir+frameDur)
			}
			continue
		}
		if !within(s, frameDur, time.Millisecond) {
			t.Fatalf("PTS step %d: %v, want %v", i, s, frameDur)
		}
	}
	wantDur := pkts[len(pkts)-1].PTS + frameDur
	if !within(p.Duration, wantDur, frameDur) {
		t.Errorf("duration %v, want %v", p.Duration, wantDur)
	}

	p2 := checkPlayable(t, st.Files[1])
	t.Logf("second file: %+v", p2)
	if p2.Packets != len(small.aus) || p2.Width != 320 || p2.Height != 180 || !within(p2.Duration, time.Duration(len(small.aus))*frameDur, frameDur) {
		t.Fatalf("second file %+v, want %d packets at 320x180", p2, len(small.aus))
	}
	if first := testpeer.ProbePackets(t, st.Files[1])[0]; first.PTS != 0 || !first.Key {
		t.Errorf("second file starts at %v key %v, want 0 and a keyframe", first.PTS, first.Key)
	}
}

// A path that cannot be written is reported at once, naming it; a file that
// cannot be created later fails the recording without holding up the Sink.
func TestUnwritablePath(t *testing.T) {
	t.Parallel()
	paths := []string{"/dev/null/x.mp4"}
	// A directory nobody may write to, root included.
	locked := t.TempDir()
	if lock(t, locked) {
		paths = append(paths, filepath.Join(locked, "x.mp4"))
	}
	for _, path := range paths {
		rec, err := New(Config{Path: path})
		if err == nil {
			rec.Close()
			t.Fatalf("New(%s) succeeded", path)
		}
		t.Logf("New(%s): %v", path, err)
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name %s", err, path)
		}
	}

	a := loadClip(t, testpeer.ClipOptions{Seconds: 1})
	small := loadClip(t, testpeer.ClipOptions{Seconds: 1, Width: 320, Height: 180})
	dir := t.TempDir()
	rec, err := New(Config{Path: filepath.Join(dir, "show.mp4"), Log: testpeer.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	f := &feeder{sink: rec, path: "program"}
	f.start(a.sps, a.pps)
	f.feed(a.aus, 0, len(a.aus), time.Time{}, nil)
	testpeer.Await(t, 5*time.Second, "the first fragment", func() bool { return rec.Status().FramesWritten > 0 })
	// The directory becomes unwritable: the next file (for a new
	// resolution) cannot be created there.
	if !lock(t, dir) {
		// No immutable flag on this file system: put a file where the
		// directory was.
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.stop()
	f.start(small.sps, small.pps)
	f.feed(small.aus, 0, len(small.aus), time.Time{}, nil)
	next := filepath.Join(dir, "show-2.mp4")
	testpeer.Await(t, 5*time.Second, "the failure", func() bool {
		st := rec.Status()
		return st.State == Failed && st.FramesDropped == uint64(len(small.aus))
	})
	st := rec.Status()
	t.Logf("status %+v; slowest Sink call %v", st, f.slowest())
	if st.Path != next || st.Err == nil || !strings.Contains(st.Err.Error(), next) {
		t.Errorf("status path %s, err %v; want %s named", st.Path, st.Err, next)
	}
	if f.slowest() > blockedCall {
		t.Errorf("a Sink call took %v", f.slowest())
	}
	if err := rec.Close(); err == nil || !strings.Contains(err.Error(), next) {
		t.Errorf("Close: %v, want the failure", err)
	}
	if st := rec.Status(); st.State != Stopped {
		t.Errorf("state after Close: %s", st.State)
	}
	// What was recorded before stays playable.
	if p := checkPlayable(t, filepath.Join(dir, "show.mp4")); p.Packets != len(a.aus) {
		t.Errorf("first file: %+v, want %d packets", p, len(a.aus))
	}
}

// lock makes dir immutable (no new entries, even for root) until the test
// ends, and reports whether the file system supports it.
func lock(t *testing.T, dir string) bool {
	if _, err := exec.LookPath("chattr"); err != nil {
		return false
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Logf("chattr +i: %v %s", err, out)
		return false
	}
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", dir).Run() })
	return true
}

func TestFileNames(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 11, 21, 16, 52, 7, 0, time.UTC)
	names := namer("/rec/2006/onair-2006-01-02-150405.mp4", at)
	// The directory is literal; the stem is a layout; the extension stays.
	if got := names(1); got != "/rec/2006/onair-2025-11-21-165207.mp4" {
		t.Errorf("first name %s", got)
	}
	if got := names(3); got != "/rec/2006/onair-2025-11-21-165207-3.mp4" {
		t.Errorf("third name %s", got)
	}
	if got := namer("show", at)(1); got != "show.mp4" {
		t.Errorf("name without extension: %s", got)
	}

	// An existing file is never overwritten.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "show.mp4"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := New(Config{Path: filepath.Join(dir, "show.mp4")})
	if err != nil {
		t.Fatal(err)
	}
	if p := rec.Status().Path; p != filepath.Join(dir, "show-2.mp4") {
		t.Errorf("path %s, want show-2.mp4", p)
	}
	rec.Close()
	if b, _ := os.ReadFile(filepath.Join(dir, "show.mp4")); string(b) != "keep" {
		t.Errorf("existing file changed")
	}
	// A recording that never saw a frame leaves no empty file behind.
	if _, err := os.Stat(filepath.Join(dir, "show-2.mp4")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty recording left a file: %v", err)
	}
}
