package rtsp

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/internal/testpeer"
)

// collector is a Sink that keeps what arrives.
type collector struct {
	mu      sync.Mutex
	starts  int
	stops   int
	tracks  []stream.Tracks
	aus     []stream.Unit // video
	audio   []stream.Unit
	changed chan struct{}
}

func newCollector() *collector { return &collector{changed: make(chan struct{}, 1)} }

func (c *collector) note() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

func (c *collector) SourceStarted(_ string, t stream.Tracks) {
	c.mu.Lock()
	c.starts++
	c.tracks = append(c.tracks, t)
	c.mu.Unlock()
	c.note()
}

func (c *collector) Unit(_ string, u stream.Unit) {
	c.mu.Lock()
	if u.Kind == stream.Audio {
		c.audio = append(c.audio, u)
	} else {
		c.aus = append(c.aus, u)
	}
	c.mu.Unlock()
	c.note()
}

func (c *collector) SourceStopped(string) {
	c.mu.Lock()
	c.stops++
	c.mu.Unlock()
	c.note()
}

func (c *collector) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// clip makes a short 320x240 H.264 clip at 30 fps with ffmpeg.
func clip(t *testing.T, frames int) (aus [][][]byte, sps, pps []byte) {
	t.Helper()
	path := testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: float64(frames) / 30, Width: 320, Height: 240})
	for _, au := range testpeer.ReadClip(t, path, 30) {
		for _, n := range au.NALUs {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				sps = n
			case h264.NALUTypePPS:
				pps = n
			}
		}
		aus = append(aus, au.NALUs)
	}
	if len(aus) != frames || sps == nil || pps == nil {
		t.Fatalf("clip has %d access units, want %d (sps %v, pps %v)", len(aus), frames, sps != nil, pps != nil)
	}
	return aus, sps, pps
}

func startServer(t *testing.T, sink stream.Sink) *Server {
	t.Helper()
	s, err := NewServer("127.0.0.1:0", RandomCredentials("encoder"), RandomCredentials("monitor"), sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Every access unit the encoder publishes reaches the master with its PTS,
// and a new publisher on the same path is a new source.
func TestPublishReachesSink(t *testing.T) {
	aus, sps, pps := clip(t, 30)
	sink := newCollector()
	s := startServer(t, sink)
	for run := 1; run <= 2; run++ {
		p, err := Publish(s.PublishURL("program"), sps, pps)
		if err != nil {
			t.Fatal(err)
		}
		for i, au := range aus {
			if err := p.WriteAccessUnit(AccessUnit{NALUs: au, PTS: time.Duration(i) * time.Second / 30}); err != nil {
				t.Fatal(err)
			}
		}
		sink.await(t, "all access units", func() bool { return len(sink.aus) == run*len(aus) })
		p.Close()
		sink.await(t, "publisher gone", func() bool { return sink.stops == run })
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.starts != 2 {
		t.Fatalf("%d sources started, want 2", sink.starts)
	}
	for i, au := range sink.aus {
		first := sink.aus[i-i%len(aus)].PTS // each run starts its own clock
		want := time.Duration(i%len(aus)) * time.Second / 30
		if d := au.PTS - first - want; d < -time.Millisecond || d > time.Millisecond {
			t.Fatalf("access unit %d: PTS %v, want %v", i, au.PTS, want)
		}
		if !bytes.Equal(bytes.Join(au.NALUs, nil), bytes.Join(aus[i%len(aus)], nil)) {
			t.Fatalf("access unit %d changed on the way", i)
		}
	}
}

// Publishing needs the publish credentials.
func TestPublishWithoutCredentialsRefused(t *testing.T) {
	_, sps, pps := clip(t, 1)
	s := startServer(t, newCollector())
	for _, url := range []string{
		"rtsp://" + s.Addr() + "/program",
		strings.Replace(s.PublishURL("program"), "encoder:", "encoder:x", 1),
		s.MonitorURL("program"), // reading rights do not allow publishing
	} {
		if p, err := Publish(url, sps, pps); err == nil {
			p.Close()
			t.Fatalf("publish to %s accepted", url)
		}
	}
}

// A player with the monitor credentials watches the program; without them
// it is refused.
func TestMonitor(t *testing.T) {
	aus, sps, pps := clip(t, 30)
	s := startServer(t, newCollector())
	p, err := Publish(s.PublishURL("program"), sps, pps)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	published := make(chan error, 1)
	go func() {
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				published <- nil
				return
			case <-tick.C:
			}
			if err := p.WriteAccessUnit(AccessUnit{NALUs: aus[i%len(aus)], PTS: time.Duration(i) * time.Second / 30}); err != nil {
				published <- err
				return
			}
		}
	}()
	probe := func(url string) (string, error) {
		cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
		defer ccancel()
		out, err := exec.CommandContext(cctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp",
			"-select_streams", "v", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", url).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	out, err := probe(s.MonitorURL("program"))
	if err != nil || out != "h264,320,240" {
		t.Fatalf("monitor: %v: %q", err, out)
	}
	for _, url := range []string{"rtsp://" + s.Addr() + "/program", strings.Replace(s.MonitorURL("program"), "monitor:", "monitor:x", 1)} {
		if out, err := probe(url); err == nil || !strings.Contains(out, "401") {
			t.Fatalf("monitor without the right credentials: %v: %q", err, out)
		}
	}
	cancel()
	if err := <-published; err != nil {
		t.Fatal(err)
	}
}

// The program's sound arrives with the picture on one clock: each unit's
// PTS is its own capture time, so a sound that began half a second before
// the first picture still lines up with it, and a monitor sees both tracks.
func TestAudioReachesSinkAndMonitor(t *testing.T) {
	aus, sps, pps := clip(t, 30)
	conf, aacs := testpeer.SineAAC(t, 1000, 2)
	sink := newCollector()
	s := startServer(t, sink)
	p, err := testpeer.PublishAV(s.PublishURL("program"), sps, pps, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Sound from 0, pictures from 0.5 s: the picture track starts later.
	const videoStart = 500 * time.Millisecond
	for i := 0; i < 24; i++ {
		if err := p.WriteAudio(aacs[i], time.Duration(i)*testpeer.AACFrameDuration); err != nil {
			t.Fatal(err)
		}
	}
	for i, au := range aus {
		if err := p.WriteVideo(au, videoStart+time.Duration(i)*time.Second/30); err != nil {
			t.Fatal(err)
		}
	}
	sink.await(t, "sound and pictures", func() bool { return len(sink.audio) == 24 && len(sink.aus) == len(aus) })
	sink.mu.Lock()
	if sink.tracks[0].Audio == nil || sink.tracks[0].Audio.SampleRate != 48000 || sink.tracks[0].Audio.ChannelCount != 2 {
		t.Errorf("announced audio %+v", sink.tracks[0].Audio)
	}
	for i, u := range sink.audio {
		if want := time.Duration(i) * testpeer.AACFrameDuration; u.PTS-want > time.Millisecond || want-u.PTS > time.Millisecond || !bytes.Equal(u.AAC, aacs[i]) {
			t.Errorf("audio unit %d: PTS %v want %v, %d bytes", i, u.PTS, want, len(u.AAC))
		}
	}
	if d := sink.aus[0].PTS - sink.audio[0].PTS; d < videoStart-time.Millisecond || d > videoStart+time.Millisecond {
		t.Errorf("first picture %v after the first sound, want %v", d, videoStart)
	}
	sink.mu.Unlock()

	// A monitor sees both tracks while the program plays.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		tick := time.NewTicker(testpeer.AACFrameDuration)
		defer tick.Stop()
		for i := 24; ctx.Err() == nil; i++ {
			<-tick.C
			pts := time.Duration(i) * testpeer.AACFrameDuration
			_ = p.WriteAudio(aacs[i%len(aacs)], pts)
			if i%2 == 0 {
				_ = p.WriteVideo(aus[(i/2)%len(aus)], pts)
			}
		}
	}()
	pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
	defer pcancel()
	out, err := exec.CommandContext(pctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp",
		"-show_entries", "stream=codec_name,sample_rate,channels", "-of", "csv=p=0", s.MonitorURL("program")).CombinedOutput()
	if got := strings.Fields(strings.TrimSpace(string(out))); err != nil || !slices.Contains(got, "aac,48000,2") {
		t.Fatalf("monitor streams: %v: %q", err, out)
	}
}
