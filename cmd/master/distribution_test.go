package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// startThree streams to three nginx live servers and waits until all are live.
func startThree(t *testing.T, width, height string) (*testpeer.Master, []*testpeer.Nginx) {
	t.Helper()
	var servers []*testpeer.Nginx
	args := []string{"-children", "encoder", "-source", "pattern", "-width", width, "-height", height, "-live"}
	for i := 0; i < 3; i++ {
		n := testpeer.StartNginx(t, testpeer.NginxOptions{})
		servers = append(servers, n)
		args = append(args, "-dest", n.URL("live", "onair"))
	}
	m := startMaster(t, nil, args...)
	m.Await("three destinations live", 15*time.Second, func() bool {
		for _, d := range m.Status().GetDestinations() {
			if d.GetState() != "live" || d.GetFramesSent() == 0 {
				return false
			}
		}
		return true
	})
	return m, servers
}

// healthyKeepPace checks that destinations i and j sent every frame the
// master received between two status snapshots, and dropped none.
func healthyKeepPace(t *testing.T, before, after *pb.MasterStatus, healthy ...int) {
	t.Helper()
	program := after.GetProgramFrames() - before.GetProgramFrames()
	for _, i := range healthy {
		b, a := before.GetDestinations()[i], after.GetDestinations()[i]
		sent := a.GetFramesSent() - b.GetFramesSent()
		if a.GetFramesDropped() != 0 || a.GetState() != "live" || sent+3 < program || sent > program+3 {
			t.Errorf("destination %d sent %d of %d program frames, dropped %d, state %s",
				i, sent, program, a.GetFramesDropped(), a.GetState())
		}
	}
}

// One live server dies: the other two get every frame; when it comes back,
// its destination reconnects on its own within its backoff.
func TestLiveServerDownOthersUnaffected(t *testing.T) {
	t.Parallel()
	m, servers := startThree(t, "320", "180")
	if err := syscall.Kill(servers[0].PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	m.Await("destination 0 retrying", 10*time.Second, func() bool {
		return m.Status().GetDestinations()[0].GetState() == "retrying"
	})
	before := m.Status()
	m.Await("three seconds of program", 10*time.Second, func() bool {
		return m.Status().GetProgramFrames() > before.GetProgramFrames()+90
	})
	after := m.Status()
	healthyKeepPace(t, before, after, 1, 2)
	if d := after.GetDestinations()[0]; d.GetError() == "" {
		t.Errorf("the dead server's destination shows no error: %v", d)
	}

	servers[0].Restart(t)
	next := time.Duration(m.Status().GetDestinations()[0].GetNextAttemptMs()) * time.Millisecond
	took := m.Await("destination 0 back", next+5*time.Second, func() bool {
		d := m.Status().GetDestinations()[0]
		return d.GetState() == "live"
	})
	t.Logf("destination 0 back %v after its server (next attempt was due in %v)", took.Round(time.Millisecond), next)
	for i, n := range servers[1:] {
		if got := n.Publishes("onair"); got != 1 {
			t.Errorf("healthy server %d saw %d publish sessions, want 1", i+1, got)
		}
	}
}

// One live server stalls (SIGSTOP): the others lose nothing; the stalled
// destination drops to keyframes, and recovers after SIGCONT.
func TestStalledLiveServer(t *testing.T) {
	t.Parallel()
	// 720p: enough bytes per second that a stalled server's socket buffers
	// fill in seconds, as they do at real streaming bitrates.
	m, servers := startThree(t, "1280", "720")
	stalled := servers[1].PID()
	if err := syscall.Kill(stalled, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(stalled, syscall.SIGCONT) })
	before := m.Status()
	dropping := m.Await("stalled destination dropping or retrying", 60*time.Second, func() bool {
		d := m.Status().GetDestinations()[1]
		return d.GetFramesDropped() > 0 || d.GetState() == "retrying"
	})
	after := m.Status()
	healthyKeepPace(t, before, after, 0, 2)
	if err := syscall.Kill(stalled, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	sent := m.Status().GetDestinations()[1].GetFramesSent()
	back := m.Await("stalled destination streaming again", 45*time.Second, func() bool {
		d := m.Status().GetDestinations()[1]
		return d.GetState() == "live" && d.GetFramesSent() > sent+60
	})
	d := m.Status().GetDestinations()[1]
	t.Logf("stalled destination: dropping after %v, streaming again %v after SIGCONT; %d frames dropped, %d attempts",
		dropping.Round(time.Millisecond), back.Round(time.Millisecond), d.GetFramesDropped(), d.GetAttempts())
}

// Two destinations on different renditions each read back at their own
// size; a rendition nobody uses is not encoded.
func TestRenditions(t *testing.T) {
	t.Parallel()
	full, small := testpeer.StartNginx(t, testpeer.NginxOptions{}), testpeer.StartNginx(t, testpeer.NginxOptions{})
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	body := fmt.Sprintf(`renditions:
  - {name: 360p, width: 640, height: 360, bitrate_kbps: 800}
  - {name: unused, width: 320, height: 180, bitrate_kbps: 300}
destinations:
  - %s
  - url: %s
    rendition: 360p
`, full.URL("live", "full"), small.URL("live", "small"))
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, nil, "-config", cfg, "-children", "encoder", "-source", "pattern", "-width", "1280", "-height", "720", "-live")
	m.Await("both destinations live", 15*time.Second, func() bool {
		for _, d := range m.Status().GetDestinations() {
			if d.GetState() != "live" || d.GetFramesSent() == 0 {
				return false
			}
		}
		return true
	})
	skipped := encoderSkipped(m)
	rFull := testpeer.StartReader(t, full.URL("live", "full"), testpeer.ReaderOptions{})
	rSmall := testpeer.StartReader(t, small.URL("live", "small"), testpeer.ReaderOptions{})
	checkDecoded(t, rFull.WaitFrames(60, 3*time.Second, 20*time.Second), 30, 1280, 720, encoderSkipped(m)-skipped)
	checkDecoded(t, rSmall.WaitFrames(60, 3*time.Second, 20*time.Second), 30, 640, 360, encoderSkipped(m)-skipped)
	r := m.Status().GetEncoder().GetRenditions()
	if len(r) != 1 || r[0].GetName() != "360p" || r[0].GetEncodedFrames() == 0 {
		t.Fatalf("encoder renditions %v, want only 360p, encoding", r)
	}
}

// A stream key lives apart from the URL: a destination without one says so,
// `master ctl key set` stores it (readable by the user only) and the
// destination goes live with it, and the key never shows.
func TestStreamKeyStoredApart(t *testing.T) {
	t.Parallel()
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	body := fmt.Sprintf(`destinations:
  - {name: main, service: custom, url: "rtmp://%s/live"}
  - {name: tw, service: twitch}
  - {name: inl, service: custom, url: "rtmp://%[1]s/live", key: sk_cfg_31}
`, nginx.Addr())
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, nil, "-config", cfg, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180", "-live")
	d := m.Status().GetDestinations()
	if d[1].GetState() != "failed" || !strings.Contains(d[1].GetError(), "master ctl key set tw") {
		t.Fatalf("twitch without a key: %v", d[1])
	}
	// The embedded server runs, but the program goes elsewhere: nobody is
	// told to watch it there.
	if p := m.Status().GetRtmpPlay(); p != "" || strings.Contains(m.Out.String(), "Watch the stream") {
		t.Errorf("players pointed at the embedded server (%q), which nothing feeds", p)
	}
	const key = "sk_live_4f00d"
	if out, err := ctlStdin(m, key+"\n", "key", "set", "main"); err != nil {
		t.Fatalf("key set: %v\n%s", err, out)
	}
	m.Await("main live with its key", 10*time.Second, func() bool {
		d := m.Status().GetDestinations()[0]
		return d.GetState() == "live" && d.GetFramesSent() > 0
	})
	if nginx.Publishes(key) != 1 {
		t.Errorf("nginx did not see a publish with the stored key")
	}
	fi, err := os.Stat(filepath.Join(m.ConfigHome, "onair", "stream-keys", "main"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	out, _ := m.Ctl("status")
	if strings.Contains(out, key) || strings.Contains(m.Out.String(), key) {
		t.Fatal("the stream key shows in status or the log")
	}

	// A key written in the config file stays when the destination is
	// edited without one (the window never shows it).
	m.Await("the destination with its key in the file live", 10*time.Second, func() bool { return nginx.Publishes("sk_cfg_31") == 1 })
	if out, err := m.Ctl("dest", "edit", "2", "-name", "inline", "-service", "custom", "-url", "rtmp://"+nginx.Addr()+"/live"); err != nil {
		t.Fatalf("dest edit: %v\n%s", err, out)
	}
	m.Await("the edited destination live with the key from the file", 10*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 3 && d[2].GetName() == "inline" && d[2].GetState() == "live" && nginx.Publishes("sk_cfg_31") == 2
	})
}

// Destinations can be added, edited in place and removed on a live master
// through the Control API; the config file follows, without the key.
func TestDestinationsOverAPI(t *testing.T) {
	t.Parallel()
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	m := startMaster(t, nil, "-config", cfg, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180", "-live")
	const key = "sk_api_77"
	if out, err := ctlStdin(m, key, "dest", "add", "-name", "relay", "-service", "custom",
		"-url", "rtmp://"+nginx.Addr()+"/live", "-key-stdin"); err != nil {
		t.Fatalf("dest add: %v\n%s", err, out)
	}
	m.Await("added destination live", 10*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 2 && d[1].GetName() == "relay" && d[1].GetState() == "live" && d[1].GetFramesSent() > 0
	})
	file := readFile(t, cfg)
	if !strings.Contains(file, "name: relay") || strings.Contains(file, key) {
		t.Fatalf("config file after add:\n%s", file)
	}

	// Renamed in place: it keeps its place and its stored key, and goes
	// live again with that key.
	if out, err := m.Ctl("dest", "edit", "1", "-name", "backup", "-service", "custom", "-url", "rtmp://"+nginx.Addr()+"/live"); err != nil {
		t.Fatalf("dest edit: %v\n%s", err, out)
	}
	m.Await("the renamed destination live with the stored key", 10*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 2 && d[1].GetName() == "backup" && d[1].GetState() == "live" && nginx.Publishes(key) == 2
	})
	file = readFile(t, cfg)
	if !strings.Contains(file, "name: backup") || strings.Contains(file, "relay") || strings.Contains(file, key) {
		t.Fatalf("config file after edit:\n%s", file)
	}
	// A refused edit changes nothing: the destination stays, live.
	if out, err := m.Ctl("dest", "edit", "1", "-name", "backup", "-service", "myspace"); err == nil || !strings.Contains(out, "myspace") {
		t.Fatalf("a bad edit is not refused clearly: %v\n%s", err, out)
	}
	if d := m.Status().GetDestinations(); len(d) != 2 || d[1].GetName() != "backup" || d[1].GetState() != "live" {
		t.Fatalf("after a refused edit: %v", d)
	}

	// A key written in the URL stays when an edit sends the URL back
	// without it, as the window does (it is only ever shown masked).
	const inline = "sk_inline_55"
	if out, err := m.Ctl("dest", "add", "-name", "inline", "-url", "rtmp://"+nginx.Addr()+"/live/"+inline); err != nil {
		t.Fatalf("dest add: %v\n%s", err, out)
	}
	m.Await("the inline-key destination live", 10*time.Second, func() bool { return nginx.Publishes(inline) == 1 })
	if out, err := m.Ctl("dest", "edit", "2", "-name", "inline2", "-url", "rtmp://"+nginx.Addr()+"/live"); err != nil {
		t.Fatalf("dest edit: %v\n%s", err, out)
	}
	m.Await("the edited destination live with its inline key", 10*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 3 && d[2].GetName() == "inline2" && d[2].GetState() == "live" && nginx.Publishes(inline) == 2
	})
	if out, err := m.Ctl("dest", "rm", "2"); err != nil {
		t.Fatalf("dest rm: %v\n%s", err, out)
	}

	// The embedded default is in no file; edited, it is saved as a
	// destination of the file, so the edit outlives a restart.
	if out, err := m.Ctl("dest", "edit", "0", "-name", "local", "-url", "rtmp://"+nginx.Addr()+"/live/sk_local_9"); err != nil {
		t.Fatalf("dest edit: %v\n%s", err, out)
	}
	m.Await("the edited default live", 10*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 2 && d[0].GetName() == "local" && d[0].GetState() == "live" && nginx.Publishes("sk_local_9") == 1
	})
	if file := readFile(t, cfg); !strings.Contains(file, "name: local") {
		t.Fatalf("the edited default is not in the config file:\n%s", file)
	}

	if out, err := m.Ctl("dest", "rm", "1"); err != nil {
		t.Fatalf("dest rm: %v\n%s", err, out)
	}
	if d := m.Status().GetDestinations(); len(d) != 1 {
		t.Fatalf("after rm: %v", d)
	}
	if strings.Contains(readFile(t, cfg), "backup") {
		t.Fatal("the removed destination is still in the config file")
	}
	testpeer.Await(t, 10*time.Second, "nginx sessions ended", func() bool {
		return nginx.PublishSessions(key) == 2 && nginx.PublishSessions(inline) == 2
	})
	if out, _ := m.Ctl("dest", "add", "-service", "myspace"); !strings.Contains(out, "myspace") {
		t.Fatalf("a bad service is not refused clearly: %s", out)
	}
}
