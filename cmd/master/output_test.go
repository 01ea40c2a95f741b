package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// checkDecoded asserts that frames cover their time span with at most 2%
// missing, at the right size, with increasing timestamps.
func checkDecoded(t *testing.T, frames []testpeer.Frame, fps, w, h int, skipped uint64) {
	t.Helper()
	if len(frames) < 2 {
		t.Fatalf("reader decoded %d frames", len(frames))
	}
	// Frames the source skipped (a loaded machine; counted by the caller
	// around the reading) were never the stream's to deliver.
	span := frames[len(frames)-1].PTS - frames[0].PTS
	want := int(span*time.Duration(fps)/time.Second) + 1 - int(skipped)
	if len(frames)*100 < want*98 {
		t.Fatalf("reader decoded %d frames over %v, want at least 98%% of %d (the encoder skipped %d)", len(frames), span, want, skipped)
	}
	for i, f := range frames {
		if f.Width != w || f.Height != h {
			t.Fatalf("frame %d is %dx%d, want %dx%d", i, f.Width, f.Height, w, h)
		}
		if i > 0 && f.PTS <= frames[i-1].PTS {
			t.Fatalf("frame %d: timestamp %v not after %v", i, f.PTS, frames[i-1].PTS)
		}
	}
}

// encoderSkipped is how many frame slots the master's encoder has skipped.
func encoderSkipped(m *testpeer.Master) uint64 { return m.Status().GetEncoder().GetSkippedFrames() }

func destinations(st *pb.MasterStatus) string {
	var b strings.Builder
	for i, d := range st.GetDestinations() {
		fmt.Fprintf(&b, "\n  %d %s %s %q", i, d.GetUrl(), d.GetState(), d.GetError())
	}
	return b.String()
}

// The program goes out to a third-party live server (nginx) and reads back
// whole, at the right size, with monotonic timestamps.
func TestStreamToNginx(t *testing.T) {
	t.Parallel()
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "640", "-height", "360",
		"-dest", nginx.URL("live", "onair"), "-live")
	m.Await("destination live", 10*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
	})
	skipped := encoderSkipped(m)
	r := testpeer.StartReader(t, nginx.URL("live", "onair"), testpeer.ReaderOptions{})
	checkDecoded(t, r.WaitFrames(150, 3*time.Second, 30*time.Second), 30, 640, 360, encoderSkipped(m)-skipped)
}

// SIGKILL the encoder three times while live: the live server sees one
// publish session throughout, the viewer never errors out, and each freeze
// is under a second.
func TestEncoderKilledWhileLive(t *testing.T) {
	// Not parallel: it times freezes.
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "640", "-height", "360",
		"-dest", nginx.URL("live", "onair"), "-live")
	m.Await("destination live", 10*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
	})
	r := testpeer.StartReader(t, nginx.URL("live", "onair"), testpeer.ReaderOptions{})
	m.Await("viewer playing", 15*time.Second, func() bool { return r.Count() > 30 })
	for kill := 0; kill < 3; kill++ {
		seen := r.Count()
		m.Await("viewer receiving", 10*time.Second, func() bool { return r.Count() > seen+90 })
		pid := child(m.Status(), "encoder").GetPid()
		if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		m.Await("encoder back", 5*time.Second, func() bool {
			c := child(m.Status(), "encoder")
			return c.GetState() == "running" && c.GetPid() != pid
		})
	}
	seen := r.Count()
	m.Await("viewer receiving after the last restart", 10*time.Second, func() bool { return r.Count() > seen+90 })
	select {
	case <-r.Done():
		t.Fatalf("the viewer stopped: %s", r.Output())
	default:
	}
	frames := r.Frames()
	var worst time.Duration
	for i := 1; i < len(frames); i++ {
		worst = max(worst, frames[i].At.Sub(frames[i-1].At))
		if frames[i].PTS <= frames[i-1].PTS {
			t.Fatalf("frame %d: timestamp %v not after %v", i, frames[i].PTS, frames[i-1].PTS)
		}
	}
	t.Logf("%d frames over %v, longest freeze %v", len(frames), frames[len(frames)-1].At.Sub(frames[0].At).Round(time.Millisecond), worst.Round(time.Millisecond))
	if worst >= time.Second {
		t.Errorf("a freeze lasted %v, want under 1s", worst)
	}
	if n := nginx.Publishes("onair"); n != 1 {
		t.Errorf("nginx saw %d publish sessions, want exactly 1", n)
	}
	if c := child(m.Status(), "encoder"); c.GetRestarts() != 3 {
		t.Errorf("encoder restarts %d, want 3", c.GetRestarts())
	}
}

// With no destination named, the master streams to its embedded server,
// where any player can watch without knowing the stream key; status points
// players there only while the program goes there.
func TestEmbeddedServerByDefault(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180", "-live")
	st := m.Status()
	if st.GetRtmpPlay() == "" || len(st.GetDestinations()) != 1 {
		t.Fatalf("no embedded server destination: %v", st)
	}
	skipped := encoderSkipped(m)
	r := testpeer.StartReader(t, st.GetRtmpPlay(), testpeer.ReaderOptions{})
	checkDecoded(t, r.WaitFrames(60, 3*time.Second, 20*time.Second), 30, 320, 180, encoderSkipped(m)-skipped)
	key := strings.TrimSpace(readFile(t, m.ConfigHome+"/onair/stream-key"))
	if out := m.Out.String(); strings.Contains(out, key) {
		t.Fatal("the stream key appears in the master's log")
	}
	if !strings.Contains(m.Out.String(), "Watch the stream:  ffplay "+st.GetRtmpPlay()) {
		t.Error("the master does not say where to watch")
	}
	// Once nothing feeds it, nobody is pointed at it: a player would wait
	// forever.
	if out, err := m.Ctl("dest", "rm", "0"); err != nil {
		t.Fatalf("dest rm: %v\n%s", err, out)
	}
	if p := m.Status().GetRtmpPlay(); p != "" {
		t.Errorf("status still points players at %s with no destination feeding it", p)
	}
	if out, _ := m.Ctl("status"); strings.Contains(out, key) {
		t.Fatal("the stream key appears in ctl status")
	}
}

// Bad destinations each get a clear error of their own, nothing hangs, and
// the good destination streams on.
func TestBadDestinations(t *testing.T) {
	t.Parallel()
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	embedded := testpeer.FreePort(t)
	const secret = "sk_live_5ecret"
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180",
		"-rtmp-listen", fmt.Sprintf("127.0.0.1:%d", embedded),
		"-dest", fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", testpeer.ClosedPort(t), secret),
		"-dest", nginx.URL("nosuchapp", secret),
		"-dest", fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", embedded, secret),
		"-dest", nginx.URL("live", "good"),
		"-live")
	want := []struct{ state, err string }{
		{"retrying", "refused"},
		{"retrying", "application"},
		{"retrying", "stream key"},
		{"live", ""},
	}
	var st *pb.MasterStatus
	ok := func() bool {
		st = m.Status()
		d := st.GetDestinations()
		if len(d) != len(want) {
			return false
		}
		for i, w := range want {
			if d[i].GetState() != w.state || !strings.Contains(d[i].GetError(), w.err) {
				return false
			}
		}
		return d[3].GetFramesSent() > 30
	}
	if !testpeer.Eventually(15*time.Second, ok) {
		t.Fatalf("destinations not as expected:%s", destinations(st))
	}
	t.Logf("destinations:%s", destinations(st))
	if strings.Contains(m.Out.String(), secret) || strings.Contains(destinations(st), secret) {
		t.Fatal("a stream key appears unmasked in the log or status")
	}
	// "reconnect now" skips the wait: another attempt happens at once.
	attempts := st.GetDestinations()[0].GetAttempts()
	if out, err := m.Ctl("reconnect", "0"); err != nil {
		t.Fatalf("reconnect: %v\n%s", err, out)
	}
	m.Await("reconnect attempt", 2*time.Second, func() bool { return m.Status().GetDestinations()[0].GetAttempts() > attempts })
}

// `master serve-rtmp` runs the embedded live server alone: ffmpeg publishes
// with the key from the config dir, and a player watches the play URL.
func TestServeRTMPAlone(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	p := startProcess(t, filepath.Join(binDir, "master"), append(os.Environ(), "XDG_CONFIG_HOME="+home),
		"serve-rtmp", "-listen", "127.0.0.1:0")
	out := p.out
	playLine := regexp.MustCompile(`Watch with:\s+ffplay (\S+)`)
	var play string
	testpeer.Await(t, 10*time.Second, "serve-rtmp ready", func() bool {
		m := playLine.FindStringSubmatch(out.String())
		if m != nil {
			play = m[1]
		}
		return m != nil
	})
	key := strings.TrimSpace(readFile(t, filepath.Join(home, "onair", "stream-key")))
	if strings.Contains(out.String(), key) {
		t.Fatal("serve-rtmp prints the stream key")
	}
	clip := testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 3})
	r := testpeer.StartReader(t, play, testpeer.ReaderOptions{})
	testpeer.Await(t, 10*time.Second, "player connected", func() bool { return strings.Contains(out.String(), "player joined") })
	pub := testpeer.PublishClip(t, clip, 30, strings.TrimSuffix(play, "program")+key, true)
	if err := pub.Wait(20 * time.Second); err != nil {
		t.Fatalf("ffmpeg publish: %v\n%s", err, pub.Output())
	}
	checkDecoded(t, r.WaitFrames(90, 3*time.Second, 20*time.Second), 30, 640, 360, 0)
}

// With -srt-listen, a second machine publishes picture and sound over SRT
// (streamid = the key) and a player watches the same play URL over RTMP.
func TestServeRTMPAloneSRTPublisher(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	srtAddr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	p := startProcess(t, filepath.Join(binDir, "master"), append(os.Environ(), "XDG_CONFIG_HOME="+home),
		"serve-rtmp", "-listen", "127.0.0.1:0", "-srt-listen", srtAddr)
	out := p.out
	playLine := regexp.MustCompile(`Watch with:\s+ffplay (\S+)`)
	var play string
	testpeer.Await(t, 10*time.Second, "serve-rtmp ready", func() bool {
		m := playLine.FindStringSubmatch(out.String())
		if m != nil {
			play = m[1]
		}
		return m != nil && strings.Contains(out.String(), "accepting SRT publishers")
	})
	key := strings.TrimSpace(readFile(t, filepath.Join(home, "onair", "stream-key")))
	r := testpeer.StartReader(t, play, testpeer.ReaderOptions{})
	testpeer.Await(t, 10*time.Second, "player connected", func() bool { return strings.Contains(out.String(), "player joined") })
	testpeer.PublishSRT(t, "srt://"+srtAddr+"?streamid="+key, 4)
	checkDecoded(t, r.WaitFrames(90, 3*time.Second, 20*time.Second), 30, 640, 360, 0)
	if strings.Contains(out.String(), key) {
		t.Fatal("the stream key appears in the log")
	}
}
