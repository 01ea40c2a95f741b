package rtmpserver

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	srt "github.com/datarhei/gosrt"

	"github.com/onair-studio/onair/internal/testpeer"
)

// startSRT serves SRT publishers for s on a loopback port and returns the
// URL a caller publishes to, without the streamid.
func startSRT(t *testing.T, s *testServer) string {
	t.Helper()
	ln, err := srt.Listen("srt", "127.0.0.1:0", srt.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeSRT(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ServeSRT returned %v", err)
		}
	})
	return "srt://" + ln.Addr().String()
}

// ffmpeg publishes picture and sound over SRT; an RTMP player decodes both.
func TestSRTPublishAndPlay(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{PlayName: "program"})
	url := startSRT(t, s)
	saved := filepath.Join(t.TempDir(), "played.flv")
	player := testpeer.SaveStream(t, s.url("program"), 3, saved)
	testpeer.Await(t, 10*time.Second, "the player to join", func() bool { return s.Stats().Players == 1 })
	testpeer.PublishSRT(t, url+"?streamid="+key, 6)
	if err := player.Wait(30 * time.Second); err != nil {
		t.Fatalf("player: %v\n%s", err, player.Output())
	}
	d := testpeer.DecodeFile(t, saved)
	if d.Codec != "h264" || d.Width != 640 || d.Height != 360 || d.Frames < 80 || d.Errors != "" {
		t.Fatalf("the player decoded %+v, want about 90 frames of 640x360 H.264", d)
	}
	if got := testpeer.AudioStream(t, saved); got != "aac,48000,1" {
		t.Errorf("the player's sound is %q, want aac,48000,1", got)
	}
	if level := testpeer.ToneLevel(testpeer.DecodeAudio(t, saved, 2), 440); level < -20 {
		t.Errorf("the 440 Hz tone is at %.1f dBFS", level)
	}
	if st := s.Stats(); st.Publishes != 1 || st.VideoFrames < 80 || st.Refused != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A caller with a wrong streamid is refused, and nothing is published.
func TestSRTWrongKey(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	url := startSRT(t, s)
	pub := testpeer.PublishSRT(t, url+"?streamid=not-the-key", 5)
	if err := pub.Wait(30 * time.Second); err == nil {
		t.Fatalf("ffmpeg published with a wrong key\n%s", pub.Output())
	}
	if st := s.Stats(); st.Refused != 1 || st.Publishes != 0 || st.Connections != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Garbage datagrams and a burst of handshakes with wrong keys leave the
// server serving: the right key still gets in.
func TestSRTHostileClients(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	url := startSRT(t, s)
	addr := url[len("srt://"):]
	udp, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	junk := make([]byte, 1316)
	for range 2000 {
		rand.Read(junk)
		if _, err := udp.Write(junk); err != nil {
			t.Fatal(err)
		}
	}
	const handshakes = 40
	var wg sync.WaitGroup
	for i := range handshakes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := srt.DefaultConfig()
			c.StreamId = fmt.Sprintf("guess-%d", i)
			if conn, err := srt.Dial("srt", addr, c); err == nil {
				conn.Close()
				t.Errorf("a wrong streamid got in")
			}
		}()
	}
	wg.Wait()
	// Under load gosrt may drop some handshakes before they reach the key
	// check; none may get in.
	if st := s.Stats(); st.Refused == 0 || st.Refused > handshakes || st.Connections != 0 {
		t.Errorf("after the burst: stats %+v", st)
	}
	c := srt.DefaultConfig()
	c.StreamId = key
	conn, err := srt.Dial("srt", addr, c)
	if err != nil {
		t.Fatalf("the right key after the burst: %v", err)
	}
	testpeer.Await(t, 5*time.Second, "the publisher to be counted", func() bool { return s.Stats().Connections == 1 })
	conn.Close()
	testpeer.Await(t, 10*time.Second, "the publisher to leave", func() bool { return s.Stats().Connections == 0 })
}
