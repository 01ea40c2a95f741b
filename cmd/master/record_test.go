package main

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGKILL the master while it records: the file still plays, and its
// duration is within a second of what was streamed into it.
func TestRecordingSurvivesKilledMaster(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "show.mp4")
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180", "-record", path)
	var started time.Time
	m.Await("recording", 15*time.Second, func() bool {
		r := m.Status().GetRecording()
		if r.GetFramesWritten() > 0 && started.IsZero() {
			started = time.Now()
		}
		return r.GetState() == "recording" && r.GetFramesWritten() > 90
	})
	if err := m.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	streamed := time.Since(started)
	<-m.Exited
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe cannot read the recording: %v\n%s", err, out)
	}
	dur, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("duration %q: %v", out, err)
	}
	got := time.Duration(dur * float64(time.Second))
	t.Logf("recorded %v; streamed about %v before the kill (plus the first fragment)", got.Round(time.Millisecond), streamed.Round(time.Millisecond))
	// The first fragment (1 s) was on disk when the clock started.
	if d := got - (streamed + time.Second); d < -time.Second || d > time.Second {
		t.Errorf("recorded %v, streamed about %v", got, streamed+time.Second)
	}
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("the recording does not decode cleanly: %v\n%s", err, out)
	}
}

// Recording to a path that cannot be written is a clear error naming it, and
// the broadcast goes on.
func TestRecordingUnwritablePath(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180", "-live")
	m.Await("live", 10*time.Second, func() bool { return m.Status().GetDestinations()[0].GetFramesSent() > 0 })
	out, err := m.Ctl("record", "-o", "/dev/null/show.mp4")
	if err == nil || !strings.Contains(out, "/dev/null/show.mp4") {
		t.Fatalf("recording to /dev/null/show.mp4: %v\n%s", err, out)
	}
	sent := m.Status().GetDestinations()[0].GetFramesSent()
	m.Await("broadcast continues", 10*time.Second, func() bool {
		return m.Status().GetDestinations()[0].GetFramesSent() > sent+30
	})
	// A good path still works after the failure, and stop ends it cleanly.
	good := filepath.Join(t.TempDir(), "ok.mp4")
	if out, err := m.Ctl("record", "-o", good); err != nil {
		t.Fatalf("record: %v\n%s", err, out)
	}
	m.Await("recording", 10*time.Second, func() bool { return m.Status().GetRecording().GetFramesWritten() > 30 })
	if out, err := m.Ctl("record", "stop"); err != nil {
		t.Fatalf("record stop: %v\n%s", err, out)
	}
	if r := m.Status().GetRecording(); r.GetState() != "stopped" {
		t.Fatalf("after stop: %v", r)
	}
	if out, err := exec.Command("ffprobe", "-v", "error", good).CombinedOutput(); err != nil {
		t.Fatalf("the stopped recording does not read: %v\n%s", err, out)
	}
}
