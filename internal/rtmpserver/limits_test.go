package rtmpserver

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/output"
	"github.com/onair-studio/onair/internal/testpeer"
)

// A publisher with the key may send what strangers may not: 1080p keyframes
// (about 95 kB, more than a client that does not publish may send in one
// message), from OnAir's own publisher, which starts sending before the
// server's answer to its publish arrives.
func TestPublisherSendsBigKeyframes(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 1, Width: 1920, Height: 1080}), 30)
	player := startPlayer(t, s, false)
	p, err := output.NewPublisher(output.Config{URL: s.url(key), Log: testpeer.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WaitLive(ctx); err != nil {
		t.Fatal(err)
	}
	feed(p, aus, 0, time.Now(), 0)
	frames := player.WaitFrames(len(aus), 3*time.Second, 20*time.Second)
	if len(frames) != len(aus) || frames[0].Width != 1920 {
		t.Fatalf("player decoded %d of %d frames:\n%s", len(frames), len(aus), player.Output())
	}
	if st := s.Stats(); st.Broken != 0 || st.Publishes != 1 {
		t.Errorf("stats %+v", st)
	}
}

// A client that sends its publish command and a big keyframe in one write is
// judged as the publisher it is once the server has taken its key, not as
// the stranger it was before.
func TestPublishAndKeyframeInOneWrite(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	a := dial(t, s.addr, make(chan struct{}))
	var b []byte
	b = append(b, chunk(3, msgCommand, 0, amf("connect", 1.0, map[string]string{"app": "live", "tcUrl": "rtmp://" + s.addr + "/live"}))...)
	b = append(b, chunk(3, msgCommand, 0, amf("createStream", 2.0, nil))...)
	b = append(b, chunk(8, msgCommand, 1, amf("publish", 0.0, nil, key, "live"))...)
	b = append(b, setChunkSize(65536)...)
	frame := make([]byte, 100<<10)
	frame[0] = 0x17 // AVC keyframe
	frame[1] = 1    // NAL units
	b = append(b, chunkHeader(0, 7, msgVideo, 1, len(frame))...)
	b = append(b, frame[:65536]...)
	b = append(b, chunkHeader(3, 7, 0, 0, 0)...)
	b = append(b, frame[65536:]...)
	if !a.send(b) {
		t.Fatal("write failed")
	}
	testpeer.Await(t, 10*time.Second, "the keyframe", func() bool { return s.Stats().VideoFrames == 1 })
	if st := s.Stats(); st.Broken != 0 || st.Publishes != 1 {
		t.Errorf("stats %+v", st)
	}
}

// A player that answers nothing, not even the server's pings, is dropped
// after PlayerTimeout; ffmpeg, which answers pings, stays while no one
// publishes and plays once someone does.
func TestSilentPlayerTimesOut(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{PlayName: "program", PlayerTimeout: 900 * time.Millisecond})
	player := startPlayer(t, s, false)
	silent := dialPlayer(t, s.addr, make(chan struct{}))
	joined := time.Now()
	testpeer.Await(t, 10*time.Second, "the silent player to be dropped", func() bool { return isClosed(silent.dropped) })
	t.Logf("silent player dropped after %v", time.Since(joined).Round(time.Millisecond))
	if st := s.Stats(); st.Players != 1 {
		t.Fatalf("%d players left, want ffmpeg's", st.Players)
	}
	clip := testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 1})
	pub := testpeer.PublishClip(t, clip, 30, s.url(key), false)
	if err := pub.Wait(20 * time.Second); err != nil {
		t.Fatalf("ffmpeg publisher: %v\n%s", err, pub.Output())
	}
	checkFrames(t, player.WaitFrames(30, 3*time.Second, 20*time.Second), 30)
}

// Connections beyond the caps, in all and from one address, are closed as
// they arrive; a slot that frees up is taken again.
func TestConnectionCaps(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{MaxConnections: 3, MaxConnectionsPerIP: 2})
	a1, ok1 := handshake(t, s.addr, "127.0.0.1")
	_, ok2 := handshake(t, s.addr, "127.0.0.1")
	_, ok3 := handshake(t, s.addr, "127.0.0.1") // a third from one address
	_, ok4 := handshake(t, s.addr, "127.0.0.2")
	_, ok5 := handshake(t, s.addr, "127.0.0.3") // a fourth in all
	if !ok1 || !ok2 || ok3 || !ok4 || ok5 {
		t.Fatalf("admitted %v %v %v %v %v, want true true false true false", ok1, ok2, ok3, ok4, ok5)
	}
	// The server counts a refusal after it closed the connection: await it.
	testpeer.Await(t, 5*time.Second, "two turned away and three connections in the stats", func() bool {
		st := s.Stats()
		return st.TurnedAway == 2 && st.Connections == 3
	})
	a1.Close()
	testpeer.Await(t, 5*time.Second, "the closed connection to end", func() bool { return s.Stats().Connections == 2 })
	if _, ok := handshake(t, s.addr, "127.0.0.3"); !ok {
		t.Errorf("a freed slot was not taken again")
	}
}

// handshake connects from the loopback address from and says whether the
// server answered the RTMP handshake (or closed the connection at once).
func handshake(t *testing.T, addr, from string) (net.Conn, bool) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(make([]byte, 1+1536)); err != nil {
		return c, false
	}
	_, err = io.ReadFull(c, make([]byte, 1+1536+1536))
	return c, err == nil
}

// A connect command of a few bytes whose AMF0 claims 2^31 array elements
// would make go-amf0 ask for 32 GiB and end the process that holds the
// broadcast; the stranger is dropped and the server serves on.
func TestAMF0BombIsDropped(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	a := dial(t, s.addr, make(chan struct{}))
	bomb := amf("connect", 1.0)
	bomb = append(bomb, 0x03, 0, 3, 'a', 'p', 'p', 0x0a, 0x7f, 0xff, 0xff, 0xff, 0, 0, 9)
	a.send(chunk(3, msgCommand, 0, bomb))
	select {
	case <-a.dropped:
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept a client that sent an AMF0 allocation bomb")
	}
	if st := s.Stats(); st.Broken != 1 {
		t.Errorf("stats %+v, want the client counted as broken", st)
	}
	dial(t, s.addr, make(chan struct{})) // still serving: the handshake completes
}
