package output

import (
	"context"
	"testing"

	"time"

	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/internal/testpeer"
)

const twoTo24 = 16777216 * time.Millisecond

// feed hands clip access units to p, shifted by base, at real time from
// start when realtime is set, else as fast as possible. It returns when the
// first and the last were handed over.
func feed(p *Publisher, aus []testpeer.AccessUnit, base time.Duration, start time.Time, realtime bool) (first, last time.Time) {
	for i, au := range aus {
		if realtime {
			time.Sleep(time.Until(start.Add(au.PTS)))
		}
		if i == 0 {
			first = time.Now()
		}
		p.WriteAccessUnit(au.NALUs, base+au.PTS, base+au.PTS)
	}
	return first, time.Now()
}

func startPublisher(t *testing.T, cfg Config) *Publisher {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = testpeer.Logger(t)
	}
	p, err := NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WaitLive(ctx); err != nil {
		t.Fatalf("not live: %v", err)
	}
	return p
}

// checkFrames asserts that at least 98% of want frames decoded, at 640x360,
// starting with a keyframe, with strictly increasing timestamps.
func checkFrames(t *testing.T, frames []testpeer.Frame, want int) {
	t.Helper()
	if len(frames)*100 < want*98 {
		t.Fatalf("reader decoded %d of %d frames", len(frames), want)
	}
	if !frames[0].Key {
		t.Errorf("first decoded frame is not a keyframe")
	}
	for i, f := range frames {
		if f.Width != 640 || f.Height != 360 {
			t.Fatalf("frame %d is %dx%d, want 640x360", i, f.Width, f.Height)
		}
		if i > 0 && f.PTS <= frames[i-1].PTS {
			t.Fatalf("frame %d: timestamp %v after %v", i, f.PTS, frames[i-1].PTS)
		}
	}
}

func TestPublishToNginx(t *testing.T) {
	t.Parallel()
	ngx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 3}), 30)
	url := ngx.URL("live", "show1")
	reader := testpeer.StartReader(t, url, testpeer.ReaderOptions{})
	testpeer.Await(t, 10*time.Second, "the reader to ask nginx for the stream", func() bool { return ngx.Plays("show1") == 1 })

	p := startPublisher(t, Config{URL: url})
	feed(p, aus, 0, time.Now(), true)
	frames := reader.WaitFrames(len(aus), 3*time.Second, 20*time.Second)
	checkFrames(t, frames, len(aus))

	st := p.Stats()
	if st.State != StateLive || st.FramesSent != uint64(len(aus)) || st.FramesDropped != 0 || st.BytesSent == 0 {
		t.Errorf("stats %+v, want live, %d sent, none dropped", st, len(aus))
	}
	p.Close()
	if st, _ := p.State(); st != StateClosed {
		t.Errorf("state after Close: %v", st)
	}
	testpeer.Await(t, 5*time.Second, "nginx to log the finished session", func() bool { return ngx.PublishSessions("show1") == 1 })
}

// The encoder restarts mid-stream: its clock starts over at 0 and it sends
// new SPS/PPS. The RTMP session must carry on: one publish at nginx,
// timestamps still increasing, and the reader keeps decoding.
func TestSourceRestartKeepsSession(t *testing.T) {
	t.Parallel()
	ngx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	first := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 2}), 30)
	second := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 2, Preset: "veryfast"}), 30)
	if string(first[0].NALUs[0]) == string(second[0].NALUs[0]) {
		t.Fatal("the two clips have the same SPS")
	}
	url := ngx.URL("live", "show2")
	reader := testpeer.StartReader(t, url, testpeer.ReaderOptions{})
	testpeer.Await(t, 10*time.Second, "the reader to ask nginx for the stream", func() bool { return ngx.Plays("show2") == 1 })

	p := startPublisher(t, Config{URL: url})
	start := time.Now()
	_, lastOld := feed(p, first, 3*time.Hour, start, true) // the first encoder's clock is far from 0
	const outage = 400 * time.Millisecond
	p.NewSource(stream.Tracks{})
	firstNew, _ := feed(p, second, 0, start.Add(2*time.Second+outage), true)

	want := len(first) + len(second)
	frames := reader.WaitFrames(want, 3*time.Second, 20*time.Second)
	checkFrames(t, frames, want)
	// The restart shows as one longer interval: the wall-clock gap between
	// the old source's last frame and the new one's first.
	gap := firstNew.Sub(lastOld)
	longest := time.Duration(0)
	for i := 1; i < len(frames); i++ {
		longest = max(longest, frames[i].PTS-frames[i-1].PTS)
	}
	t.Logf("gap %v, longest frame interval %v", gap, longest)
	if d := longest - gap; d < -5*time.Millisecond || d > 5*time.Millisecond {
		t.Errorf("longest frame interval %v, want the %v between the sources", longest, gap)
	}
	if st := p.Stats(); st.FramesDropped != 0 {
		t.Errorf("%d frames dropped", st.FramesDropped)
	}
	p.Close()
	if n := ngx.Publishes("show2"); n != 1 {
		t.Errorf("nginx saw %d publish commands, want 1", n)
	}
	testpeer.Await(t, 5*time.Second, "nginx to log the finished session", func() bool { return ngx.PublishSessions("show2") >= 1 })
	if n := ngx.PublishSessions("show2"); n != 1 {
		t.Errorf("nginx logged %d publish sessions, want 1:\n%s", n, ngx.AccessLog())
	}
}

// Timestamps cross 2^24 ms (the 24-bit RTMP timestamp field) mid-stream; the
// recording nginx makes must stay continuous.
func TestTimelinePast24Bits(t *testing.T) {
	t.Parallel()
	ngx := testpeer.StartNginx(t, testpeer.NginxOptions{Record: true})
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 10}), 30)
	reader := testpeer.StartReader(t, ngx.URL("live", "long"), testpeer.ReaderOptions{CopyTS: true})
	testpeer.Await(t, 10*time.Second, "the reader to ask nginx for the stream", func() bool { return ngx.Plays("long") == 1 })
	p := startPublisher(t, Config{URL: ngx.URL("live", "long"), TimelineStart: twoTo24 - 5*time.Second, QueueSize: 1000})
	feed(p, aus, 0, time.Now(), false)
	// nginx relays the timestamps unchanged to players (it rebases only its
	// recordings), so the reader sees the timeline cross 2^24 ms.
	frames := reader.WaitFrames(len(aus), 3*time.Second, 20*time.Second)
	checkFrames(t, frames, len(aus))
	continuous(t, "reader", frames[0].PTS, frames[len(frames)-1].PTS, func(i int) time.Duration { return frames[i].PTS }, len(frames))
	if frames[0].PTS > twoTo24-4*time.Second || frames[len(frames)-1].PTS < twoTo24+4*time.Second {
		t.Errorf("reader saw %v .. %v, want from about 2^24 ms - 5 s to 2^24 ms + 5 s", frames[0].PTS, frames[len(frames)-1].PTS)
	}
	testpeer.Await(t, 10*time.Second, "every frame to be sent", func() bool { return p.Stats().FramesSent == uint64(len(aus)) })
	if tl := p.Stats().Timeline; tl < twoTo24+4*time.Second {
		t.Fatalf("timeline ended at %v, want past 2^24 ms", tl)
	}
	p.Close()
	testpeer.Await(t, 5*time.Second, "nginx to close the recording", func() bool { return ngx.PublishSessions("long") == 1 })
	recs := ngx.Recordings()
	if len(recs) != 1 {
		t.Fatalf("recordings: %v", recs)
	}
	pkts := testpeer.ProbePackets(t, recs[0])
	if len(pkts)*100 < len(aus)*98 {
		t.Fatalf("recording has %d of %d frames", len(pkts), len(aus))
	}
	// nginx starts its recordings at 0: 2^24 ms was crossed 5 s in.
	continuous(t, "recording", pkts[0].DTS, pkts[len(pkts)-1].DTS, func(i int) time.Duration { return pkts[i].DTS }, len(pkts))
}

// continuous asserts increasing timestamps, no gap over 100 ms, ~10 s span.
func continuous(t *testing.T, what string, first, last time.Duration, ts func(int) time.Duration, n int) {
	t.Helper()
	for i := 1; i < n; i++ {
		if d := ts(i) - ts(i-1); d <= 0 || d > 100*time.Millisecond {
			t.Fatalf("%s: timestamp %d is %v after %v", what, i, ts(i), ts(i-1))
		}
	}
	t.Logf("%s: %d frames, %v .. %v", what, n, first, last)
	if span := last - first; span < 9*time.Second || span > 11*time.Second {
		t.Errorf("%s spans %v, want about 10 s", what, span)
	}
}

// The program's sound reaches a live server as AAC 48 kHz stereo beside the
// picture, at the level it was sent, without a gap, its timestamps crossing
// 2^24 ms with the picture's; sound and picture last as long.
func TestAudioPast24Bits(t *testing.T) {
	t.Parallel()
	ngx := testpeer.StartNginx(t, testpeer.NginxOptions{Record: true})
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 10}), 30)
	conf, aacs := testpeer.SineAAC(t, 1000, 10)
	p := startPublisher(t, Config{URL: ngx.URL("live", "sound"), TimelineStart: twoTo24 - 5*time.Second, QueueSize: 2000})
	sps, pps := testpeer.ParamSets(aus)
	p.NewSource(stream.Tracks{Video: &stream.H264{SPS: sps, PPS: pps}, Audio: conf})
	// Interleaved by capture time, as the return path delivers them.
	a := 0
	for _, au := range aus {
		for ; a < len(aacs) && time.Duration(a)*testpeer.AACFrameDuration <= au.PTS; a++ {
			p.WriteAudio(aacs[a], time.Duration(a)*testpeer.AACFrameDuration)
		}
		p.WriteAccessUnit(au.NALUs, au.PTS, au.PTS)
	}
	testpeer.Await(t, 10*time.Second, "every frame to be sent", func() bool { return p.Stats().FramesSent == uint64(len(aus)) })
	p.Close()
	testpeer.Await(t, 5*time.Second, "nginx to close the recording", func() bool { return ngx.PublishSessions("sound") == 1 })
	recs := ngx.Recordings()
	if len(recs) != 1 {
		t.Fatalf("recordings: %v", recs)
	}
	if got := testpeer.AudioStream(t, recs[0]); got != "aac,48000,2" {
		t.Fatalf("audio stream %q, want aac,48000,2", got)
	}
	pkts := testpeer.ProbeStreamPackets(t, recs[0], "a:0")
	if sent := p.Stats().AudioFramesSent; sent != uint64(len(pkts)) {
		t.Errorf("the publisher counts %d sound frames sent; nginx recorded %d", sent, len(pkts))
	}
	for i := 1; i < len(pkts); i++ {
		if d := pkts[i].DTS - pkts[i-1].DTS; d <= 0 || d > 30*time.Millisecond {
			t.Fatalf("audio packet %d is %v after the one before: %v", i, d, pkts[:min(len(pkts), 5)])
		}
	}
	video := testpeer.ProbePackets(t, recs[0])
	vspan := video[len(video)-1].DTS - video[0].DTS
	aspan := pkts[len(pkts)-1].DTS - pkts[0].DTS
	if d := vspan - aspan; d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("audio spans %v, video %v", aspan, vspan)
	}
	samples := testpeer.DecodeAudio(t, recs[0], 20)
	if lvl := testpeer.ToneLevel(samples[AudioSkip:], 1000); lvl < testpeer.SineLevel-1 || lvl > testpeer.SineLevel+1 {
		t.Errorf("tone at %.1f dBFS, sent at %.1f", lvl, testpeer.SineLevel)
	}
	if gaps := testpeer.Silences(samples[AudioSkip:len(samples)-AudioSkip], 1000, testpeer.SineLevel, 50*time.Millisecond); len(gaps) > 0 {
		t.Errorf("sound missing at %v", gaps)
	}
}

// AudioSkip leaves out the encoder's priming at either end of a decode.
const AudioSkip = testpeer.AudioRate / 10
