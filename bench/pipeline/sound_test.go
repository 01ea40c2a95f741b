package pipeline

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/onair-studio/onair/internal/capture"
	"github.com/onair-studio/onair/internal/codec"
	"github.com/onair-studio/onair/internal/testpeer"
)

// BenchmarkSoundSyncAndLatency measures, at a viewer behind nginx, how far
// apart picture and sound arrive and how late the sound is. The program is
// the test pattern, whose block flashes white for 100 ms at every whole
// second of the capture clock, and the tone:1000 source, which beeps
// (-6 dBFS over -20) at the same instants. An ffmpeg viewer copies the
// picture and the sound to this process, each on its own pipe as it
// arrives (one stream per output, so ffmpeg holds nothing back to
// interleave them), keeping the stream's timestamps.
//
//   - A/V offset: the stream timestamp of each flash (from the decoded
//     pictures, less how far into the flash its first frame was captured)
//     minus that of its beep (from the decoded sound). Target: p95 of
//     |offset| at most 20 ms, as on the return path.
//   - Sound latency: each beep was captured at a whole second of the wall
//     clock, which places every AAC frame's first sample on the wall clock;
//     its latency is its arrival at the viewer minus that. The picture's
//     latency, from each frame's capture-time SEI, is shown beside it.
//
// The first two seconds are left out of the latencies: they wait in
// nginx and in ffmpeg's probing.
func BenchmarkSoundSyncAndLatency(b *testing.B) {
	const span = 16 * time.Second
	s := screenStage(b, nil, width, height, fps) // for its nginx; the pattern needs no screen
	m := testpeer.StartMaster(b, testpeer.Binaries(b), nil, "-children", "encoder", "-source", "pattern",
		"-width", strconv.Itoa(width), "-height", strconv.Itoa(height), "-fps", strconv.Itoa(fps), "-preset", "veryfast",
		"-bitrate", strconv.Itoa(kbps), "-config", soundConfig(b, "tone:1000"), "-dest", s.nginx.URL("live", "sync"), "-live")
	defer m.Stop()
	m.Await("live with sound", 20*time.Second, func() bool {
		st := m.Status()
		d := st.GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0 && soundLive(st)
	})
	v := watchAV(b, s.nginx.URL("live", "sync"), span)
	m.Stop()

	pics := v.pictures(b)
	flashes := v.flashes(b, pics)
	sound, beeps := v.beeps(b)

	// A flash shows from the first frame captured in its 100 ms, up to a
	// frame interval after the whole second it starts at; that frame's
	// capture stamp says how far, so the picture's timeline places the
	// second itself at the flash's timestamp minus that.
	captured := map[time.Duration]time.Time{}
	for _, p := range pics {
		captured[p.ts] = p.captured
	}
	var offsets, abs, frameOffsets []time.Duration
	for _, bp := range beeps {
		for _, f := range flashes {
			if d := f - bp; d.Abs() < 400*time.Millisecond {
				into := time.Duration(captured[f].Nanosecond())
				if into >= capture.FlashLength {
					b.Fatalf("the flash at %v was captured %v into its second", f, into)
				}
				frameOffsets = append(frameOffsets, d)
				offsets, abs = append(offsets, d-into), append(abs, (d-into).Abs())
			}
		}
	}
	if len(offsets) < int(span/time.Second)/2 {
		b.Fatalf("only %d flashes matched a beep (flashes at %v, beeps at %v)", len(offsets), flashes, beeps)
	}

	// The stream timeline on the wall clock: from the pictures' capture
	// stamps (to name each beep's second), then from the beeps themselves.
	var videoWall []time.Duration
	for _, p := range pics {
		videoWall = append(videoWall, time.Duration(p.captured.UnixNano())-p.ts)
	}
	vOff := median(videoWall)
	var soundWall []time.Duration
	for _, bp := range beeps {
		second := (bp + vOff + time.Second/2).Truncate(time.Second)
		soundWall = append(soundWall, second-bp)
	}
	aOff := median(soundWall)
	settled := v.start.Add(2 * time.Second)
	var soundLat, videoLat []time.Duration
	for _, a := range sound {
		if a.at.After(settled) {
			soundLat = append(soundLat, time.Duration(a.at.UnixNano())-(a.ts+aOff))
		}
	}
	for _, p := range pics {
		if p.at.After(settled) {
			videoLat = append(videoLat, p.at.Sub(p.captured))
		}
	}
	slices.Sort(offsets)
	slices.Sort(abs)
	slices.Sort(frameOffsets)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
	fmt.Printf("picture and sound at an nginx viewer, test pattern %dx%d at %d fps veryfast + tone:1000, %v:\n", width, height, fps, span)
	fmt.Printf("  A/V offset (flash minus beep, the flash placed by its frame's capture stamp) over %d flashes: p50 %s, p95 |offset| %s, max |offset| %s (target p95 <= 20 ms)\n",
		len(offsets), ms(offsets[len(offsets)/2]), ms(pct(abs, 95)), ms(abs[len(abs)-1]))
	fmt.Printf("  first flash frame minus beep: p50 %s (at %d fps a flash shows from the first frame after its second: 0 to %s later)\n",
		ms(frameOffsets[len(frameOffsets)/2]), fps, ms(time.Second/fps))
	fmt.Printf("  sound latency, capture of an AAC frame's first sample -> viewer, %d frames: p50 %s, p95 %s\n",
		len(soundLat), ms(pct(soundLat, 50)), ms(pct(soundLat, 95)))
	fmt.Printf("  picture latency, capture -> viewer, %d frames: p50 %s, p95 %s\n", len(videoLat), ms(pct(videoLat, 50)), ms(pct(videoLat, 95)))
	fmt.Printf("  the sound's timeline placed by its beeps vs the picture's by its capture stamps: %s\n", ms(aOff-vOff))
	b.ReportMetric(float64(offsets[len(offsets)/2])/1e6, "av-p50-ms")
	b.ReportMetric(float64(pct(abs, 95))/1e6, "av-p95abs-ms")
	b.ReportMetric(float64(pct(soundLat, 50))/1e6, "sound-p50-ms")
	b.ReportMetric(float64(pct(soundLat, 95))/1e6, "sound-p95-ms")
}

// pct is the p-th percentile of ds (sorted here).
func pct(ds []time.Duration, p int) time.Duration {
	slices.Sort(ds)
	return ds[(len(ds)*p+99)/100-1]
}

func median(ds []time.Duration) time.Duration {
	c := slices.Clone(ds)
	slices.Sort(c)
	return c[len(c)/2]
}

// tag is one FLV tag as the viewer handed it over.
type tag struct {
	ts   time.Duration // the stream's timestamp (ms)
	data []byte
	at   time.Time // when its last byte arrived
}

// avViewer is what an ffmpeg viewer received: the picture's and the
// sound's FLV tags, each from its own pipe.
type avViewer struct {
	start        time.Time
	video, audio []tag
}

// watchAV plays url with ffmpeg for span and collects its tags.
func watchAV(b *testing.B, url string, span time.Duration) *avViewer {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	viewer := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-nostdin", "-fflags", "nobuffer", "-rw_timeout", "5000000",
		"-i", url, "-copyts",
		"-map", "0:v", "-c", "copy", "-flush_packets", "1", "-f", "flv", "pipe:1",
		"-map", "0:a", "-c", "copy", "-flush_packets", "1", "-f", "flv", "pipe:3")
	videoOut, err := viewer.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	audioOut, audioIn, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	viewer.ExtraFiles = []*os.File{audioIn}
	var stderr testpeer.SyncBuffer
	viewer.Stderr = &stderr
	v := &avViewer{start: time.Now()}
	if err := viewer.Start(); err != nil {
		b.Fatal(err)
	}
	audioIn.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); v.video = readTags(videoOut, v.start.Add(span)) }()
	go func() { defer wg.Done(); v.audio = readTags(audioOut, v.start.Add(span)) }()
	wg.Wait()
	cancel()
	_ = viewer.Wait()
	audioOut.Close()
	if len(v.video) < int(span.Seconds())*fps/2 || len(v.audio) < int(span.Seconds())*20 {
		b.Fatalf("the viewer got %d picture and %d sound tags in %v:\n%s", len(v.video), len(v.audio), span, stderr.String())
	}
	return v
}

// readTags reads FLV tags from r as they arrive until until, or r ends.
func readTags(r io.Reader, until time.Time) []tag {
	var tags []tag
	var buf []byte
	chunk := make([]byte, 64<<10)
	header := false
	for time.Now().Before(until) {
		n, err := r.Read(chunk)
		now := time.Now()
		buf = append(buf, chunk[:n]...)
		if !header && len(buf) >= 13 { // "FLV", version, flags, header size, first previous-tag size
			buf, header = buf[13:], true
		}
		for header && len(buf) >= 11 {
			size := int(buf[1])<<16 | int(buf[2])<<8 | int(buf[3])
			if len(buf) < 11+size+4 {
				break
			}
			ms := int64(buf[7])<<24 | int64(buf[4])<<16 | int64(buf[5])<<8 | int64(buf[6])
			tags = append(tags, tag{ts: time.Duration(ms) * time.Millisecond, data: slices.Clone(buf[11 : 11+size]), at: now})
			buf = buf[11+size+4:]
		}
		if err != nil {
			break
		}
	}
	return tags
}

// picture is one video frame the viewer received.
type picture struct {
	ts       time.Duration
	at       time.Time
	captured time.Time // from its SEI
	annexB   []byte
}

// pictures are the frames from the first keyframe on.
func (v *avViewer) pictures(b *testing.B) []picture {
	var params [][]byte // SPS and PPS, from the sequence header
	var pics []picture
	for _, t := range v.video {
		if len(t.data) < 5 || t.data[0]&0x0f != 7 { // AVC
			continue
		}
		switch t.data[1] {
		case 0:
			params = avcParams(t.data[5:])
		case 1:
			key := t.data[0]>>4 == 1
			if len(pics) == 0 && (!key || params == nil) {
				continue
			}
			var nalus [][]byte
			for d := t.data[5:]; len(d) >= 4; {
				n := int(binary.BigEndian.Uint32(d))
				if n > len(d)-4 {
					break
				}
				nalus, d = append(nalus, d[4:4+n]), d[4+n:]
			}
			captured, ok := codec.ParseCaptureTime(nalus)
			if !ok {
				b.Fatalf("picture at %v carries no capture time", t.ts)
			}
			if key {
				nalus = append(slices.Clone(params), nalus...)
			}
			annexB, err := h264.AnnexB(nalus).Marshal()
			if err != nil {
				b.Fatal(err)
			}
			pics = append(pics, picture{ts: t.ts, at: t.at, captured: captured, annexB: annexB})
		}
	}
	return pics
}

// avcParams are the SPS and PPS of an AVCDecoderConfigurationRecord.
func avcParams(rec []byte) [][]byte {
	var out [][]byte
	d := rec
	// take reads a count of length-prefixed parameter sets; countMask
	// picks the count's bits from the byte before them.
	take := func(countMask byte) {
		if len(d) < 1 {
			return
		}
		count := int(d[0] & countMask)
		d = d[1:]
		for range count {
			if len(d) < 2 || int(binary.BigEndian.Uint16(d)) > len(d)-2 {
				return
			}
			n := int(binary.BigEndian.Uint16(d))
			out, d = append(out, d[2:2+n]), d[2+n:]
		}
	}
	if len(d) < 5 {
		return nil
	}
	d = d[5:]
	take(0x1f) // SPS
	take(0xff) // PPS
	return out
}

// flashes decodes the pictures and returns the stream time of each flash's
// first frame.
func (v *avViewer) flashes(b *testing.B, pics []picture) []time.Duration {
	const w, h = 320, 180
	var annexB []byte
	for _, p := range pics {
		annexB = append(annexB, p.annexB...)
	}
	file := filepath.Join(b.TempDir(), "picture.h264")
	if err := os.WriteFile(file, annexB, 0o600); err != nil {
		b.Fatal(err)
	}
	grey, err := exec.Command("ffmpeg", "-v", "error", "-f", "h264", "-i", file, "-vf", fmt.Sprintf("scale=%d:%d", w, h),
		"-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "-").Output()
	if err != nil || len(grey) != w*h*len(pics) {
		b.Fatalf("decoding the pictures: %v (%d bytes for %d pictures)", err, len(grey), len(pics))
	}
	r := capture.PatternFlashRect(width, height)
	cx, cy := (r.Min.X+r.Max.X)/2*w/width, (r.Min.Y+r.Max.Y)/2*h/height
	return onsets(len(pics), 300*time.Millisecond,
		func(i int) bool { return grey[i*w*h+cy*w+cx] > 200 },
		func(i int) time.Duration { return pics[i].ts })
}

// aacFrame is one AAC access unit the viewer received.
type aacFrame struct {
	ts time.Duration
	at time.Time
	au []byte
}

// beeps decodes the sound and returns its frames and the stream time of
// each beep's start.
func (v *avViewer) beeps(b *testing.B) ([]aacFrame, []time.Duration) {
	var conf *mpeg4audio.AudioSpecificConfig
	var frames []aacFrame
	for _, t := range v.audio {
		if len(t.data) < 2 || t.data[0]>>4 != 10 { // AAC
			continue
		}
		if t.data[1] == 0 {
			conf = &mpeg4audio.AudioSpecificConfig{}
			if err := conf.Unmarshal(t.data[2:]); err != nil {
				b.Fatalf("AAC sequence header: %v", err)
			}
		} else if conf != nil {
			frames = append(frames, aacFrame{ts: t.ts, at: t.at, au: t.data[2:]})
		}
	}
	raw := make([][]byte, len(frames))
	for i, f := range frames {
		raw[i] = f.au
	}
	pcm := testpeer.Left(testpeer.DecodeAAC(b, conf, raw))
	const perFrame = mpeg4audio.SamplesPerAccessUnit
	if len(pcm) != perFrame*len(frames) {
		b.Fatalf("%d AAC frames decode to %d samples, want %d", len(frames), len(pcm), perFrame*len(frames))
	}
	// 1 ms windows, loud when the RMS passes halfway between beep and tone.
	const win = testpeer.AudioRate / 1000
	threshold := (math.Pow(10, -6.0/20) + math.Pow(10, -20.0/20)) / 2 / math.Sqrt2
	return frames, onsets(len(pcm)/win, 300*time.Millisecond,
		func(i int) bool {
			var sum float64
			for _, x := range pcm[i*win : (i+1)*win] {
				sum += float64(x) * float64(x)
			}
			return math.Sqrt(sum/win) > threshold
		},
		func(i int) time.Duration {
			n := i * win
			return frames[n/perFrame].ts + time.Duration(n%perFrame)*time.Second/testpeer.AudioRate
		})
}

// onsets are the times at which on(i) turns true after being false for at
// least gap.
func onsets(n int, gap time.Duration, on func(i int) bool, at func(i int) time.Duration) []time.Duration {
	var out []time.Duration
	for _, i := range testpeer.Onsets(n, gap, on, at) {
		out = append(out, at(i))
	}
	return out
}
