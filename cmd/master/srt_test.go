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

// SRT and WHIP destinations beside an RTMP one, added with their secrets
// through the key store: a SIGKILLed encoder ends no session (FFmpeg's SRT
// listener takes one caller and ends with it, nginx counts publishes, the
// WHIP endpoint counts offers), every receiver keeps decoding with
// timestamps that never step back, and the passphrase, streamid and bearer
// token show nowhere: not in the log, status, events or the config file.
func TestSRTAndWHIPThroughEncoderKill(t *testing.T) {
	t.Parallel()
	const (
		pass     = "srt-passphrase-0123"
		streamID = "studio-streamid-4567"
		token    = "whip-bearer-token-89ab"
	)
	whip := testpeer.StartWHIPServer(t, token)
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
	out, err = ctlStdin(m, "token="+token, "dest", "add", "-name", "backup-whip", "-url", "whip+"+whip.URL, "-key-stdin")
	if err != nil {
		t.Fatalf("dest add: %v\n%s", err, out)
	}
	m.Await("all destinations live", 20*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 3 && d[0].GetState() == "live" && d[1].GetState() == "live" && d[1].GetFramesSent() > 0 &&
			d[2].GetState() == "live" && d[2].GetFramesSent() > 0
	})
	whipPackets := func() int {
		if ss := whip.Sessions(); len(ss) == 1 {
			v, _ := ss[0].Packets()
			return v
		}
		return 0
	}
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
	seenRTMP, seenSRT, seenWHIP := rtmp.Count(), srt.Count(), whipPackets()
	m.Await("every receiver fed after the restart", 15*time.Second, func() bool {
		return rtmp.Count() > seenRTMP+90 && srt.Count() > seenSRT+90 && whipPackets() > seenWHIP+90
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
	if d := st.GetDestinations()[2]; d.GetAttempts() != 1 || !strings.Contains(d.GetLink(), "connected") {
		t.Errorf("WHIP destination: %d attempts, link %q; want 1, connected", d.GetAttempts(), d.GetLink())
	}
	if n := whip.Offers(); n != 1 {
		t.Errorf("the WHIP endpoint saw %d offers, want 1", n)
	}

	// Stopping the destination DELETEs its session, and what the WHIP
	// endpoint received decodes.
	if out, err := m.Ctl("dest", "rm", "2"); err != nil {
		t.Fatalf("dest rm: %v\n%s", err, out)
	}
	m.Await("the WHIP session deleted", 10*time.Second, func() bool { return whip.Deletes() == 1 })
	whip.Sessions()[0].Close()
	if dec := testpeer.DecodeFile(t, whip.Sessions()[0].Video); dec.Codec != "h264" || dec.Frames < 90 {
		t.Errorf("the WHIP receiver decoded %+v", dec)
	}

	statusText, _ := m.Ctl("status")
	statusJSON, _ := m.Ctl("status", "--json")
	config, _ := os.ReadFile(filepath.Join(m.ConfigHome, "onair", "config.yaml"))
	for what, text := range map[string]string{
		"log": m.Out.String(), "status": statusText, "status JSON": statusJSON, "config file": string(config),
		"events": events.String(),
	} {
		for _, secret := range []string{pass, streamID, token} {
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
