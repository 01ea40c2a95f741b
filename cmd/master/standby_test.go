package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

const spareChild = "encoder-standby"

// awaitSpare waits until the spare stands by with the current desired
// state, and returns the status.
func awaitSpare(m *testpeer.Master, within time.Duration) *pb.MasterStatus {
	var st *pb.MasterStatus
	m.Await("spare encoder standing by with the current state", within, func() bool {
		st = m.Status()
		s := child(st, spareChild)
		return configured(st, "encoder") && s.GetState() == "standby" && s.GetConfiguredRevision() == st.GetRevision()
	})
	return st
}

// liveToNginx streams the pattern to nginx with a spare standing by.
func liveToNginx(t *testing.T, args ...string) (*testpeer.Master, *testpeer.Nginx) {
	t.Helper()
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	m := startMaster(t, []string{"ONAIR_TEST_FAULTS=1"}, append([]string{"-children", "encoder", "-source", "pattern",
		"-width", "640", "-height", "360", "-dest", nginx.URL("live", "onair"), "-live"}, args...)...)
	m.Await("destination live", 15*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
	})
	return m, nginx
}

func sendSignal(t *testing.T, pid int32, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(int(pid), sig); err != nil {
		t.Fatal(err)
	}
}

// awaitPromoted waits until the spare that was pid spare is the running
// encoder.
func awaitPromoted(m *testpeer.Master, spare int32, within time.Duration) {
	m.Await("the spare promoted", within, func() bool {
		c := child(m.Status(), "encoder")
		return c.GetState() == "running" && c.GetPid() == spare
	})
}

// SIGKILL of the active encoder while live gets the spare promoted: the
// viewer's longest freeze is short, nginx sees one publish session, and a
// new spare stands by within 2 s. ctl status lists the spare with its
// memory.
func TestSparePromotedOnEncoderKill(t *testing.T) {
	// Not parallel: it times a freeze.
	m, nginx := liveToNginx(t)
	st := awaitSpare(m, 20*time.Second)
	out, err := m.Ctl("status")
	if err != nil || !strings.Contains(out, spareChild) || !strings.Contains(out, "standby (libx264 open, silent)") {
		t.Fatalf("ctl status does not list the spare standing by: %v\n%s", err, out)
	}
	if mem := child(st, spareChild).GetMemoryBytes(); mem < 1<<20 {
		t.Fatalf("spare's memory shows %d bytes", mem)
	}
	r := testpeer.StartReader(t, nginx.URL("live", "onair"), testpeer.ReaderOptions{})
	m.Await("viewer playing", 15*time.Second, func() bool { return r.Count() > 60 })

	active, spare := child(st, "encoder").GetPid(), child(st, spareChild).GetPid()
	sendSignal(t, active, syscall.SIGKILL)
	killed := time.Now()
	awaitPromoted(m, spare, 5*time.Second)
	m.Await("a new spare", 2*time.Second-time.Since(killed), func() bool {
		s := child(m.Status(), spareChild)
		return s.GetState() == "standby" && s.GetPid() != spare
	})
	seen := r.Count()
	m.Await("viewer receiving after the promotion", 10*time.Second, func() bool { return r.Count() > seen+60 })

	// The freeze the kill caused is the longest gap that ends after the
	// kill and begins within 300 ms of it: the promotion's, however long.
	// Gaps elsewhere are the shared machine's jitter, not the promotion's.
	frames := r.Frames()
	var worst time.Duration
	for i := 1; i < len(frames); i++ {
		if frames[i].At.After(killed) && frames[i-1].At.Before(killed.Add(300*time.Millisecond)) {
			worst = max(worst, frames[i].At.Sub(frames[i-1].At))
		}
		if frames[i].PTS <= frames[i-1].PTS {
			t.Fatalf("frame %d: timestamp %v not after %v", i, frames[i].PTS, frames[i-1].PTS)
		}
	}
	t.Logf("the kill froze the viewer for %v", worst.Round(time.Millisecond))
	if worst >= 200*time.Millisecond {
		t.Errorf("the kill froze the viewer for %v, want under 200 ms with a spare", worst)
	}
	if n := nginx.Publishes("onair"); n != 1 {
		t.Errorf("nginx saw %d publish sessions, want exactly 1", n)
	}
	if c := child(m.Status(), "encoder"); c.GetRestarts() != 1 || !strings.Contains(c.GetLastExit(), "killed") {
		t.Errorf("encoder: %d restarts, last exit %q; want 1 and killed", c.GetRestarts(), c.GetLastExit())
	}

	// Restarting the spare replaces it and leaves the program alone.
	old := child(m.Status(), spareChild).GetPid()
	if out, err := m.Ctl("restart", spareChild); err != nil {
		t.Fatalf("ctl restart %s: %v\n%s", spareChild, err, out)
	}
	m.Await("the spare replaced", 10*time.Second, func() bool {
		s := child(m.Status(), spareChild)
		return s.GetState() == "standby" && s.GetPid() != old
	})
	if c := child(m.Status(), "encoder"); c.GetRestarts() != 1 {
		t.Errorf("restarting the spare restarted the encoder (%d restarts)", c.GetRestarts())
	}
}

// Killing the active encoder and the spare at the same moment falls back to
// starting a new encoder, and the stream goes on.
func TestEncoderAndSpareKilledTogether(t *testing.T) {
	m, nginx := liveToNginx(t)
	st := awaitSpare(m, 20*time.Second)
	r := testpeer.StartReader(t, nginx.URL("live", "onair"), testpeer.ReaderOptions{})
	m.Await("viewer playing", 15*time.Second, func() bool { return r.Count() > 30 })
	active, spare := child(st, "encoder").GetPid(), child(st, spareChild).GetPid()
	sendSignal(t, spare, syscall.SIGKILL)
	sendSignal(t, active, syscall.SIGKILL)
	m.Await("a new encoder", 10*time.Second, func() bool {
		st := m.Status()
		c := child(st, "encoder")
		return configured(st, "encoder") && c.GetPid() != active && c.GetPid() != spare
	})
	seen := r.Count()
	m.Await("viewer receiving again", 15*time.Second, func() bool { return r.Count() > seen+60 })
	awaitSpare(m, 10*time.Second)
	if n := nginx.Publishes("onair"); n != 1 {
		t.Errorf("nginx saw %d publish sessions, want exactly 1", n)
	}
}

// An active encoder that stops (SIGSTOP) is declared hung after the health
// timeout; the spare takes over and the hung one is killed.
func TestSparePromotedOnEncoderHang(t *testing.T) {
	m, nginx := liveToNginx(t)
	st := awaitSpare(m, 20*time.Second)
	r := testpeer.StartReader(t, nginx.URL("live", "onair"), testpeer.ReaderOptions{})
	m.Await("viewer playing", 15*time.Second, func() bool { return r.Count() > 30 })
	active, spare := child(st, "encoder").GetPid(), child(st, spareChild).GetPid()
	sendSignal(t, active, syscall.SIGSTOP)
	awaitPromoted(m, spare, 10*time.Second)
	if c := child(m.Status(), "encoder"); !strings.Contains(c.GetLastExit(), "hung") {
		t.Errorf("last exit %q does not say the encoder hung", c.GetLastExit())
	}
	m.Await("the hung encoder killed", 5*time.Second, func() bool { return !alive(int(active)) })
	seen := r.Count()
	m.Await("viewer receiving from the promoted spare", 15*time.Second, func() bool { return r.Count() > seen+60 })
}

// bitrateKbps is what the master sends the live server, over two seconds.
func bitrateKbps(m *testpeer.Master) float64 {
	sent := func() uint64 { return m.Status().GetDestinations()[0].GetBytesSent() }
	b0, t0 := sent(), time.Now()
	m.Await("two seconds of stream", 10*time.Second, func() bool { return time.Since(t0) >= 2*time.Second })
	return float64(sent()-b0) * 8 / 1000 / time.Since(t0).Seconds()
}

// A bitrate change and then a scene change, each followed by a kill: the
// promoted spare airs the new settings, as the live server's byte rate and
// a viewer's decoded pixels show.
func TestPromotedSpareAirsNewSettings(t *testing.T) {
	m, nginx := liveToNginx(t, "-bitrate", "3000")
	awaitSpare(m, 20*time.Second)
	high := bitrateKbps(m)
	ctx := context.Background()
	if _, err := m.Client.SetBitrate(ctx, &pb.BitrateRequest{Kbps: 100}); err != nil {
		t.Fatal(err)
	}
	st := awaitSpare(m, 10*time.Second)
	sendSignal(t, child(st, "encoder").GetPid(), syscall.SIGKILL)
	awaitPromoted(m, child(st, spareChild).GetPid(), 5*time.Second)
	bitrateKbps(m) // the old encoder's last frames and the new IDR pass
	low := bitrateKbps(m)
	t.Logf("stream at 3000 kbit/s: %.0f kbit/s; promoted at 100 kbit/s: %.0f kbit/s", high, low)
	// The pattern needs about 200 kbit/s at this size, whatever more it
	// is given: at 100 a stale spare would still send about that.
	if low > 130 || low*1.5 > high {
		t.Errorf("the promoted spare sends %.0f kbit/s (was %.0f at 3000), want about 100", low, high)
	}

	r := testpeer.StartPixelReader(t, nginx.URL("live", "onair"), viewW, viewH)
	m.Await("viewer seeing the pattern", 15*time.Second, func() bool { return countSeen(r, "live") > 10 })
	if _, err := m.Client.SetScene(ctx, &pb.Scene{Layers: []*pb.Layer{{Source: "color:#0000ff", Opacity: 1}}}); err != nil {
		t.Fatal(err)
	}
	st = awaitSpare(m, 10*time.Second)
	sendSignal(t, child(st, "encoder").GetPid(), syscall.SIGKILL)
	awaitPromoted(m, child(st, spareChild).GetPid(), 5*time.Second)
	from := len(r.Pictures())
	m.Await("viewer seeing the new scene from the promoted spare", 15*time.Second, func() bool {
		blue := 0
		for _, p := range r.Pictures()[from:] {
			if red, green, b := r.At(p, viewW/2, viewH/2); b > 200 && red < 50 && green < 50 {
				blue++
			}
		}
		return blue > 30
	})
}
