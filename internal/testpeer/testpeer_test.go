package testpeer

import (
	"testing"
	"time"
)

func TestClipAccessUnits(t *testing.T) {
	aus := ReadClip(t, MakeClip(t, ClipOptions{Seconds: 2, GOP: 15}), 30)
	if len(aus) != 60 {
		t.Fatalf("%d access units, want 60", len(aus))
	}
	for i, au := range aus {
		if au.IDR != (i%15 == 0) {
			t.Fatalf("access unit %d: IDR %v", i, au.IDR)
		}
		if au.PTS != time.Duration(i)*time.Second/30 {
			t.Fatalf("access unit %d: PTS %v", i, au.PTS)
		}
	}
}

// nginx relays ffmpeg to an ffmpeg reader, and its logs count the sessions.
func TestNginxRelay(t *testing.T) {
	ngx := StartNginx(t, NginxOptions{})
	clip := MakeClip(t, ClipOptions{Seconds: 1})
	r := StartReader(t, ngx.URL("live", "x"), ReaderOptions{})
	Await(t, 10*time.Second, "the reader to play", func() bool { return ngx.Plays("x") == 1 })
	pub := PublishClip(t, clip, 30, ngx.URL("live", "x"), false)
	if err := pub.Wait(10 * time.Second); err != nil {
		t.Fatalf("publish: %v\n%s", err, pub.Output())
	}
	if frames := r.WaitFrames(30, 3*time.Second, 10*time.Second); len(frames) != 30 {
		t.Fatalf("reader got %d frames\n%s", len(frames), r.Output())
	}
	if ngx.Publishes("x") != 1 {
		t.Errorf("publishes: %d", ngx.Publishes("x"))
	}
	Await(t, 5*time.Second, "the access log line", func() bool { return ngx.PublishSessions("x") == 1 })
}
