package rtmpserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/output"
	"github.com/onair-studio/onair/internal/testpeer"
)

const (
	key     = "sk_embedded_0123456789"
	twoTo24 = 16777216 * time.Millisecond
)

type testServer struct {
	*Server
	addr string
}

func (s *testServer) url(name string) string { return fmt.Sprintf("rtmp://%s/live/%s", s.addr, name) }

// startServer serves on a loopback port; wrap, if given, wraps the listener.
func startServer(t *testing.T, cfg Config, wrap ...func(net.Listener) net.Listener) *testServer {
	t.Helper()
	cfg.Key = key
	if cfg.Log == nil {
		cfg.Log = testpeer.Logger(t)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range wrap {
		l = w(l)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return &testServer{Server: srv, addr: l.Addr().String()}
}

func startPlayer(t *testing.T, s *testServer, copyTS bool) *testpeer.Reader {
	t.Helper()
	name := s.cfg.PlayName
	if name == "" {
		name = key
	}
	players := s.Stats().Players
	r := testpeer.StartReader(t, s.url(name), testpeer.ReaderOptions{CopyTS: copyTS})
	testpeer.Await(t, 10*time.Second, "the player to join", func() bool { return s.Stats().Players > players })
	return r
}

func checkFrames(t *testing.T, frames []testpeer.Frame, want int) {
	t.Helper()
	if len(frames)*100 < want*98 {
		t.Fatalf("player decoded %d of %d frames", len(frames), want)
	}
	if !frames[0].Key {
		t.Errorf("first frame is not a keyframe")
	}
	for i, f := range frames {
		if f.Width != 640 || f.Height != 360 {
			t.Fatalf("frame %d is %dx%d", i, f.Width, f.Height)
		}
		if i > 0 && (f.PTS <= frames[i-1].PTS || f.PTS-frames[i-1].PTS > 100*time.Millisecond) {
			t.Fatalf("frame %d: timestamp %v after %v", i, f.PTS, frames[i-1].PTS)
		}
	}
}

func feed(p *output.Publisher, aus []testpeer.AccessUnit, base time.Duration, start time.Time, speed int) {
	for _, au := range aus {
		if speed > 0 {
			time.Sleep(time.Until(start.Add(au.PTS / time.Duration(speed))))
		}
		p.WriteAccessUnit(au.NALUs, base+au.PTS, base+au.PTS)
	}
}

// ffmpeg publishes the reference clip and ffmpeg plays it back.
func TestFFmpegPublishAndPlay(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	clip := testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 3})
	player := startPlayer(t, s, false)
	pub := testpeer.PublishClip(t, clip, 30, s.url(key), true)
	if err := pub.Wait(20 * time.Second); err != nil {
		t.Fatalf("ffmpeg publisher: %v\n%s", err, pub.Output())
	}
	checkFrames(t, player.WaitFrames(90, 3*time.Second, 20*time.Second), 90)
	if st := s.Stats(); st.Publishes != 1 || st.VideoFrames < 90 {
		t.Errorf("stats %+v", st)
	}
}

// With a play name, players play it and not the key, so the URL handed to
// viewers does not give the publish key away.
func TestPlayName(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{PlayName: "program"})
	clip := testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 3})
	player := startPlayer(t, s, false)
	pub := testpeer.PublishClip(t, clip, 30, s.url(key), true)
	if err := pub.Wait(20 * time.Second); err != nil {
		t.Fatalf("ffmpeg publisher: %v\n%s", err, pub.Output())
	}
	checkFrames(t, player.WaitFrames(90, 3*time.Second, 20*time.Second), 90)
	byKey := testpeer.StartReader(t, s.url(key), testpeer.ReaderOptions{})
	testpeer.Await(t, 10*time.Second, "playing by the key refused", func() bool { return s.Stats().Refused == 1 })
	if byKey.Count() != 0 {
		t.Fatalf("a player of the key got %d frames", byKey.Count())
	}
}

// OnAir's publisher feeds the server, its timeline crossing 2^24 ms; ffmpeg
// plays it with the original timestamps.
func TestPublisherPast24Bits(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 4}), 30)
	player := startPlayer(t, s, true)
	p, err := output.NewPublisher(output.Config{URL: s.url(key), TimelineStart: twoTo24 - 2*time.Second, Log: testpeer.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WaitLive(ctx); err != nil {
		t.Fatal(err)
	}
	feed(p, aus, 0, time.Now(), 2)
	frames := player.WaitFrames(len(aus), 3*time.Second, 20*time.Second)
	if len(frames) == 0 {
		t.Fatalf("no frames:\n%s", player.Output())
	}
	checkFrames(t, frames, len(aus))
	first, last := frames[0].PTS, frames[len(frames)-1].PTS
	t.Logf("player: %d frames, %v .. %v", len(frames), first, last)
	if first > twoTo24-time.Second || last < twoTo24+time.Second {
		t.Errorf("player saw %v .. %v, want across 2^24 ms", first, last)
	}
}

// ffmpeg publishes with timestamps that start past 2^24 ms.
func TestFFmpegPublishPast24Bits(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	clip := testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 2})
	player := startPlayer(t, s, true)
	pub := testpeer.PublishClip(t, clip, 30, s.url(key), false, "-output_ts_offset", "16800")
	if err := pub.Wait(20 * time.Second); err != nil {
		t.Fatalf("ffmpeg publisher: %v\n%s", err, pub.Output())
	}
	frames := player.WaitFrames(60, 3*time.Second, 20*time.Second)
	checkFrames(t, frames, 60)
	if frames[0].PTS < twoTo24 {
		t.Errorf("first frame at %v, want past 2^24 ms", frames[0].PTS)
	}
}

// A player that joins mid-GOP starts at once, from the cached keyframe.
func TestLateJoinerStartsFromGOPCache(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	clip := testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 8, GOP: 90}) // keyframes every 3 s
	pub := testpeer.PublishClip(t, clip, 30, s.url(key), true)
	// Join about 1.5 s into the second GOP: without a cache, the next
	// keyframe would be 1.5 s away.
	testpeer.Await(t, 15*time.Second, "4.5 s of stream", func() bool { return s.Stats().VideoFrames >= 135 })
	player := startPlayer(t, s, true)
	joined := time.Now()
	received := s.Stats().VideoFrames - 1 // less the sequence header
	frames := player.WaitFrames(1, time.Second, 10*time.Second)
	if len(frames) == 0 {
		t.Fatalf("no frame:\n%s", player.Output())
	}
	wait := frames[0].At.Sub(joined)
	lastKey := time.Duration((received-1)/90*3) * time.Second
	t.Logf("joined after %d frames; first frame after %v: key %v, pts %v", received, wait, frames[0].Key, frames[0].PTS)
	if !frames[0].Key || frames[0].PTS != lastKey {
		t.Errorf("first frame key=%v pts=%v, want the cached keyframe at %v", frames[0].Key, frames[0].PTS, lastKey)
	}
	if wait > time.Second {
		t.Errorf("first frame took %v", wait)
	}
	pub.Stop()
}

// Wrong application, wrong key, unknown stream: refused with a clear error,
// within seconds, and the connection is closed.
func TestRefusals(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	for _, tc := range []struct{ url, want string }{
		{s.url("wrong_key_0123456789"), "server refused the stream key"},
		{fmt.Sprintf("rtmp://%s/other/%s", s.addr, key), `connect to application "other": server refused`},
	} {
		start := time.Now()
		p, err := output.NewPublisher(output.Config{URL: tc.url, Log: testpeer.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = p.WaitLive(ctx)
		cancel()
		p.Close()
		t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
		if err == nil || !strings.Contains(err.Error(), tc.want) || time.Since(start) > 3*time.Second {
			t.Errorf("%s: %v, want %q within 3 s", output.MaskURL(tc.url), err, tc.want)
		}
		if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "wrong_key_0123456789") {
			t.Errorf("error shows a key: %v", err)
		}
	}
	// ffmpeg with a wrong key exits with an error.
	clip := testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 1})
	pub := testpeer.PublishClip(t, clip, 30, s.url("nope"), false)
	if err := pub.Wait(10 * time.Second); err == nil {
		t.Errorf("ffmpeg published with a wrong key:\n%s", pub.Output())
	}
	// A player asking for another stream is refused too.
	r := testpeer.StartReader(t, s.url("nope"), testpeer.ReaderOptions{})
	if err := r.Wait(10 * time.Second); err == nil || r.Count() != 0 {
		t.Errorf("player of an unknown stream: %v, %d frames", err, r.Count())
	}
	if st := s.Stats(); st.Refused != 4 || st.Publishes != 0 || st.Plays != 0 {
		t.Errorf("stats %+v, want 4 refusals", st)
	}
	testpeer.Await(t, 5*time.Second, "refused connections to close", func() bool { return s.Stats().Connections == 0 })
}

// A stalled player loses frames to the next keyframe; the publisher and the
// other player lose nothing.
func TestSlowPlayer(t *testing.T) {
	t.Parallel()
	// Small socket buffers, so a stalled player stops taking data quickly.
	s := startServer(t, Config{PlayerQueue: 128, WriteTimeout: time.Minute}, func(l net.Listener) net.Listener {
		return smallBuffers{l}
	})
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 10}), 30)
	good := startPlayer(t, s, true)
	stalled := startPlayer(t, s, true)
	if err := syscall.Kill(stalled.PID(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(stalled.PID(), syscall.SIGCONT) })

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
	// 20 s of stream at 4x speed.
	start := time.Now()
	for i := 0; i < 2; i++ {
		feed(p, aus, time.Duration(i)*10*time.Second, start.Add(time.Duration(i)*10*time.Second/4), 4)
	}
	want := 2 * len(aus)
	checkFrames(t, good.WaitFrames(want, 3*time.Second, 30*time.Second), want)
	st := s.Stats()
	t.Logf("server %+v, publisher %+v", st, p.Stats())
	if st.PlayerDrops == 0 {
		t.Errorf("the stalled player dropped nothing")
	}
	if ps := p.Stats(); ps.FramesDropped != 0 || ps.FramesSent != uint64(want) {
		t.Errorf("publisher %+v", ps)
	}
}

type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(64 << 10)
	}
	return c, err
}

// Close ends every connection and leaves no goroutine behind.
func TestClose(t *testing.T) {
	baseline := runtime.NumGoroutine()
	srv, err := New(Config{Key: key, Log: testpeer.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	s := &testServer{Server: srv, addr: l.Addr().String()}
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 1}), 30)
	player := startPlayer(t, s, false)
	p, err := output.NewPublisher(output.Config{URL: s.url(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	feed(p, aus, 0, time.Now(), 0)
	player.WaitFrames(len(aus), time.Second, 10*time.Second)

	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if st := srv.Stats(); st.Connections != 0 || st.Players != 0 || st.Publishing {
		t.Errorf("after Close: %+v", st)
	}
	<-p.Done()
	player.Stop()
	testpeer.Await(t, 5*time.Second, "goroutines to end", func() bool { return runtime.NumGoroutine() <= baseline })
}
