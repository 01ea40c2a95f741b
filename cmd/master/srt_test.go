package main

import (
	"context"
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

// An SRT destination beside an RTMP one, added with its secrets through
// the key store: a SIGKILLed encoder ends neither session (FFmpeg's SRT
// listener takes one caller and ends with it, nginx counts publishes), both
// receivers keep decoding with timestamps that never step back, and the
// passphrase and streamid show nowhere: not in the log, status, events or
// the config file.
func TestSRTDestinationThroughEncoderKill(t *testing.T) {
	t.Parallel()
	const (
		pass     = "srt-passphrase-0123"
		streamID = "studio-streamid-4567"
	)
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	port := testpeer.FreePort(t)
	srt := testpeer.StartReader(t, fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&passphrase=%s", port, pass),
		testpeer.ReaderOptions{Format: "mpegts", RWTimeout: 30 * time.Second})
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "640", "-height", "360",
		"-dest", nginx.URL("live", "onair"), "-live")
	events := watchEvents(t, m)
	out, err := ctlStdin(m, "streamid="+streamID+"&passphrase="+pass,
		"dest", "add", "-name", "backup-srt", "-url", fmt.Sprintf("srt://127.0.0.1:%d?latency=120", port), "-key-stdin")
	if err != nil {
		t.Fatalf("dest add: %v\n%s", err, out)
	}
	m.Await("both destinations live", 20*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 2 && d[0].GetState() == "live" && d[1].GetState() == "live" && d[1].GetFramesSent() > 0
	})
	rtmp := testpeer.StartReader(t, nginx.URL("live", "onair"), testpeer.ReaderOptions{})
	m.Await("both receivers decoding", 15*time.Second, func() bool { return rtmp.Count() > 30 && srt.Count() > 30 })

	pid := child(m.Status(), "encoder").GetPid()
	if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	m.Await("encoder back", 5*time.Second, func() bool {
		c := child(m.Status(), "encoder")
		return c.GetState() == "running" && c.GetPid() != pid
	})
	seenRTMP, seenSRT := rtmp.Count(), srt.Count()
	m.Await("both receivers decoding after the restart", 15*time.Second, func() bool {
		return rtmp.Count() > seenRTMP+90 && srt.Count() > seenSRT+90
	})
	for name, r := range map[string]*testpeer.Reader{"RTMP": rtmp, "SRT": srt} {
		select {
		case <-r.Done():
			t.Fatalf("the %s receiver stopped: %s", name, r.Output())
		default:
		}
		frames := r.Frames()
		for i := 1; i < len(frames); i++ {
			if frames[i].PTS <= frames[i-1].PTS {
				t.Fatalf("%s picture %d: timestamp %v not after %v", name, i, frames[i].PTS, frames[i-1].PTS)
			}
		}
	}
	st := m.Status()
	if d := st.GetDestinations()[1]; d.GetAttempts() != 1 || d.GetState() != "live" {
		t.Errorf("SRT destination: %s after %d attempts, want live after 1", d.GetState(), d.GetAttempts())
	}
	if l := st.GetDestinations()[1].GetLink(); !strings.Contains(l, "rtt") {
		t.Errorf("SRT destination's status has no link figures: %q", l)
	}
	if n := nginx.Publishes("onair"); n != 1 {
		t.Errorf("nginx saw %d publish sessions, want 1", n)
	}

	statusText, _ := m.Ctl("status")
	statusJSON, _ := m.Ctl("status", "--json")
	config, _ := os.ReadFile(filepath.Join(m.ConfigHome, "onair", "config.yaml"))
	for what, text := range map[string]string{
		"log": m.Out.String(), "status": statusText, "status JSON": statusJSON, "config file": string(config),
		"events": events.String(),
	} {
		for _, secret := range []string{pass, streamID} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s shows a secret (%s…)", what, secret[:4])
			}
		}
	}
}

// watchEvents keeps every event the master sends a watcher, as text,
// until the test ends.
func watchEvents(t *testing.T, m *testpeer.Master) *testpeer.SyncBuffer {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	events, err := m.Client.WatchEvents(ctx, &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var b testpeer.SyncBuffer
	go func() {
		for {
			e, err := events.Recv()
			if err != nil {
				return
			}
			fmt.Fprintln(&b, e.String())
		}
	}()
	return &b
}
