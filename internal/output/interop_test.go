package output

import (
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

// RTMP servers other than nginx-rtmp, each written independently: OnAir's
// publisher must go live on every one of them and deliver decodable video.

// FFmpeg's own server (ffmpeg -listen 1) answers FCPublish with an
// onFCPublish that carries no transaction id, and records what it gets.
func TestPublishToFFmpegServer(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartFFmpegServer(t, "live", "interop-show")
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 3}), 30)

	p := startPublisher(t, Config{URL: srv.URL()})
	feed(p, aus, 0, time.Now(), false)
	testpeer.Await(t, 10*time.Second, "every frame to be sent", func() bool { return p.Stats().FramesSent == uint64(len(aus)) })
	p.Close()
	if st := p.Stats(); st.State != StateClosed || st.FramesDropped != 0 {
		t.Errorf("stats %+v, want closed with none dropped", st)
	}
	// The server ends when the publisher leaves, having written the file.
	select {
	case <-srv.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("ffmpeg's server still runs after the publisher left:\n%s", srv.Output())
	}

	got := testpeer.DecodeFile(t, srv.File)
	t.Logf("ffmpeg's server recorded %+v", got)
	if got.Codec != "h264" || got.Width != 640 || got.Height != 360 {
		t.Errorf("recorded %s %dx%d, want h264 640x360", got.Codec, got.Width, got.Height)
	}
	if got.Frames != len(aus) || got.Errors != "" {
		t.Errorf("decoded %d of %d frames, errors: %q\nserver log:\n%s", got.Frames, len(aus), got.Errors, srv.Output())
	}
	pkts := testpeer.ProbePackets(t, srv.File)
	if len(pkts) == 0 || !pkts[0].Key {
		t.Fatalf("recording does not start with a keyframe: %v", pkts)
	}
	for i := 1; i < len(pkts); i++ {
		if pkts[i].DTS <= pkts[i-1].DTS {
			t.Fatalf("recorded packet %d at %v after %v", i, pkts[i].DTS, pkts[i-1].DTS)
		}
	}
}

// node-media-server relays the stream to a player that was waiting for it.
func TestPublishToNodeMediaServer(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartNodeMediaServer(t)
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 3}), 30)
	url := srv.URL("live", "interop-show")
	reader := testpeer.StartReader(t, url, testpeer.ReaderOptions{})
	testpeer.Await(t, 10*time.Second, "the reader to ask the server for the stream", func() bool { return srv.Plays("live", "interop-show") == 1 })

	p := startPublisher(t, Config{URL: url})
	testpeer.Await(t, 5*time.Second, "the server to log the publisher", func() bool { return srv.Publishes("live", "interop-show") == 1 })
	feed(p, aus, 0, time.Now(), true)
	frames := reader.WaitFrames(len(aus), 3*time.Second, 20*time.Second)
	checkFrames(t, frames, len(aus))
	if st := p.Stats(); st.State != StateLive || st.FramesSent != uint64(len(aus)) || st.FramesDropped != 0 {
		t.Errorf("stats %+v, want live, %d sent, none dropped", st, len(aus))
	}
}
