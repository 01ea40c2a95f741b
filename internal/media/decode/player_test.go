package decode

import (
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

// referenceFrames has ffmpeg decode path's pictures as RGBA at w×h.
func referenceFrames(t *testing.T, path string, w, h int) [][]byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", path,
		"-vf", "scale="+strconv.Itoa(w)+":"+strconv.Itoa(h), "-pix_fmt", "rgba", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg decode %s: %v", path, err)
	}
	size := 4 * w * h
	var frames [][]byte
	for i := 0; i+size <= len(out); i += size {
		frames = append(frames, out[i:i+size])
	}
	return frames
}

// closest is the index of the reference frame pix looks most like, and
// the mean difference per byte from it.
func closest(pix []byte, refs [][]byte) (int, float64) {
	best, bestDiff := -1, 0.0
	for i, r := range refs {
		var sum int
		for j := range r {
			d := int(r[j]) - int(pix[j])
			if d < 0 {
				d = -d
			}
			sum += d
		}
		if diff := float64(sum) / float64(len(r)); best < 0 || diff < bestDiff {
			best, bestDiff = i, diff
		}
	}
	return best, bestDiff
}

// awaitDecoded waits until the decoder is a picture ahead of Read (or has
// stopped), so a test's frame clock never outruns a busy machine.
func awaitDecoded(t *testing.T, p *Player) {
	t.Helper()
	testpeer.Await(t, 10*time.Second, "the decoder to get ahead", func() bool {
		select {
		case <-p.done:
			return true
		default:
		}
		return p.next != nil || len(p.ready) > 0
	})
}

func TestPlayerShowsEveryFrameAndLoopsWithoutGap(t *testing.T) {
	clip := testpeer.MakeMP4(t, t.TempDir(), "clip.mp4", 1, 160, 96)
	refs := referenceFrames(t, clip, 160, 96)
	if len(refs) != 30 {
		t.Fatalf("the clip has %d pictures, want 30", len(refs))
	}
	p, err := Play(Input{URL: clip}, Options{Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Size() != image.Pt(160, 96) {
		t.Errorf("size %v, want 160x96", p.Size())
	}
	dst := image.NewRGBA(image.Rect(0, 0, 160, 96))
	start := time.Now()
	// Two and a half passes at the clip's own rate: picture k%30 every
	// frame, the loop's seam included, with the clock's jitter.
	for k := range 75 {
		awaitDecoded(t, p)
		jitter := time.Duration(k%3-1) * 4 * time.Millisecond
		if err := p.Read(dst, int64(k), start.Add(time.Duration(k)*time.Second/30+jitter)); err != nil {
			t.Fatalf("frame %d: %v", k, err)
		}
		i, diff := closest(dst.Pix, refs)
		if i != k%30 || diff > 4 {
			t.Fatalf("frame %d shows the clip's picture %d (mean difference %.1f), want %d", k, i, diff, k%30)
		}
	}
	// At 60 fps every picture shows twice; at 15 every other one is skipped.
	for _, c := range []struct {
		fps  int
		want func(k int) int
	}{{60, func(k int) int { return k / 2 % 30 }}, {15, func(k int) int { return 2 * k % 30 }}, {5, func(k int) int { return 6 * k % 30 }}} {
		p, err := Play(Input{URL: clip}, Options{Loop: true})
		if err != nil {
			t.Fatal(err)
		}
		// By frame slot: a frame composed late still shows its slot's picture.
		p.SetFrameRate(float64(c.fps))
		for k := range 40 {
			awaitDecoded(t, p)
			late := time.Duration(k%4) * 20 * time.Millisecond
			if err := p.Read(dst, int64(k), start.Add(time.Duration(k)*time.Second/time.Duration(c.fps)+late)); err != nil {
				t.Fatal(err)
			}
			if i, _ := closest(dst.Pix, refs); i != c.want(k) {
				t.Fatalf("%d fps: frame %d shows picture %d, want %d", c.fps, k, i, c.want(k))
			}
		}
		p.Close()
	}
}

func TestPlayerOnceHoldsTheLastPicture(t *testing.T) {
	clip := testpeer.MakeMP4(t, t.TempDir(), "clip.mp4", 0.5, 160, 96)
	refs := referenceFrames(t, clip, 160, 96)
	p, err := Play(Input{URL: clip}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dst := image.NewRGBA(image.Rect(0, 0, 160, 96))
	start := time.Now()
	for k := range 40 {
		awaitDecoded(t, p)
		if err := p.Read(dst, int64(k), start.Add(time.Duration(k)*time.Second/30)); err != nil {
			t.Fatal(err)
		}
		if i, _ := closest(dst.Pix, refs); i != min(k, len(refs)-1) {
			t.Fatalf("frame %d shows picture %d, want %d", k, i, min(k, len(refs)-1))
		}
	}
}

func TestPlayerSound(t *testing.T) {
	clip := testpeer.MakeMP4(t, t.TempDir(), "clip.mp4", 1, 64, 48)
	p, err := Play(Input{URL: clip}, Options{Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dst := image.NewRGBA(image.Rect(0, 0, 64, 48))
	buf := make([]float32, 2*4800)
	start := time.Now()
	if p.ReadSound(buf, start) {
		t.Fatal("sound before the first picture showed")
	}
	for k := range 20 {
		awaitDecoded(t, p)
		if err := p.Read(dst, int64(k), start.Add(time.Duration(k)*time.Second/30)); err != nil {
			t.Fatal(err)
		}
	}
	if !p.HasSound() || !p.ReadSound(buf, start.Add(200*time.Millisecond)) {
		t.Fatal("no sound at 200 ms")
	}
	db := testpeer.GoertzelDB(testpeer.Left(buf), 1000, 48000)
	t.Logf("tone %.1f dBFS", db)
	if db < -30 {
		t.Errorf("the 1 kHz tone reads %.1f dBFS, want the clip's tone", db)
	}
}

func TestPlayerRefusesWhatItCannotPlay(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.mp4")
	if err := os.WriteFile(bad, []byte("this is no video at all, only words"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, in := range []Input{{URL: filepath.Join(dir, "missing.mp4")}, {URL: bad}, {URL: "/dev/video99", Format: "v4l2"}} {
		p, err := Play(in, Options{})
		if err == nil {
			p.Close()
			t.Errorf("%s opened", in.URL)
			continue
		}
		t.Logf("%s: %v", in.URL, err)
	}
}

// A file that goes bad after its start (here, cut off in the middle and
// filled with noise) ends in an error, or plays what it has: it never
// crashes.
func TestPlayerFileGoingBad(t *testing.T) {
	clip := testpeer.MakeMP4(t, t.TempDir(), "clip.mkv", 2, 64, 48) // its header first: the damage comes later
	data, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(data) / 3; i < len(data); i++ {
		data[i] = byte(i * 7919 >> 3)
	}
	bad := filepath.Join(t.TempDir(), "bad.mkv")
	if err := os.WriteFile(bad, data, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Play(Input{URL: bad}, Options{Loop: true})
	if err != nil {
		t.Fatalf("refused at open, before the damage: %v", err)
	}
	defer p.Close()
	dst := image.NewRGBA(image.Rect(0, 0, 64, 48))
	start := time.Now()
	for k := range 120 {
		awaitDecoded(t, p)
		if err := p.Read(dst, int64(k), start.Add(time.Duration(k)*time.Second/30)); err != nil {
			if k == 0 {
				t.Fatalf("the first picture, before the damage: %v", err)
			}
			return // the damage reported: the end this test allows
		}
	}
}

// BenchmarkDecodeWebcamSized is the decoding goroutine's cost per picture
// of a 320×240 H.264 clip: demux, decode, convert to RGBA.
func BenchmarkDecodeWebcamSized(b *testing.B) {
	clip := testpeer.MakeMP4(b, b.TempDir(), "cam.mp4", 2, 320, 240)
	r, err := open(Input{URL: clip})
	if err != nil {
		b.Fatal(err)
	}
	defer r.close()
	dst := image.NewRGBA(image.Rect(0, 0, 320, 240))
	b.ResetTimer()
	for pictures := 0; pictures < b.N; {
		k, err := r.next()
		switch {
		case err != nil:
			b.Fatal(err)
		case k == end:
			if err := r.rewind(); err != nil {
				b.Fatal(err)
			}
		case k == video:
			if err := r.rgba(dst); err != nil {
				b.Fatal(err)
			}
			pictures++
		}
	}
}

// A file cut short while it plays (here, truncated to its first bytes)
// ends in an error Read reports, once the pictures already decoded have
// shown: the layer then shows its placeholder.
func TestPlayerFileCutShortWhilePlaying(t *testing.T) {
	path := testpeer.MakeMP4(t, t.TempDir(), "clip.mkv", 2, 320, 240)
	p, err := Play(Input{URL: path}, Options{Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dst := image.NewRGBA(image.Rect(0, 0, 32, 24))
	start := time.Now()
	for k := range 10 {
		awaitDecoded(t, p)
		if err := p.Read(dst, int64(k), start.Add(time.Duration(k)*time.Second/30)); err != nil {
			t.Fatalf("frame %d: %v", k, err)
		}
	}
	if err := os.Truncate(path, 1000); err != nil {
		t.Fatal(err)
	}
	for k := 10; k < 300; k++ {
		awaitDecoded(t, p)
		if err := p.Read(dst, int64(k), start.Add(time.Duration(k)*time.Second/30)); err != nil {
			t.Logf("frame %d: %v", k, err)
			return
		}
	}
	t.Fatal("ten seconds after the file was cut short, it still plays")
}
