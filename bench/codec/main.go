// Command codec measures OnAir's encoder against FFmpeg's own command-line
// encoder fed the same raw frames through a pipe in the same run, and the
// BGRA to I420/NV12 conversion, at 720p and 1080p.
//
// Run it from the repository root (needs ffmpeg on PATH):
//
//	go run ./bench/codec                        # full run, about 2 minutes
//	go run ./bench/codec -frames 120 -runs 1    # quick look
//
// Encoder settings on both sides: libx264, tune zerolatency, CBR (bitrate =
// maxrate = bufsize), 2 s GOP, no B-frames, High profile, 30 fps. fps is
// frames over wall time from opening the encoder to the last packet; the
// best of -runs is kept. The target is an fps ratio of at least 0.95.
package main

import (
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/onair-studio/onair/internal/codec"
)

type size struct {
	name          string
	width, height int
	kbps          int
}

var sizes = []size{
	{"720p", 1280, 720, 3000},
	{"1080p", 1920, 1080, 6000},
}

const (
	fps      = 30
	distinct = 30 // distinct source frames, cycled
)

func main() {
	frames := flag.Int("frames", 300, "frames encoded per measurement")
	runs := flag.Int("runs", 2, "measurements per encoder and setting; the best is kept")
	presets := flag.String("presets", "ultrafast,veryfast", "x264 presets to measure")
	flag.Parse()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		fmt.Fprintln(os.Stderr, "ffmpeg is needed on PATH")
		os.Exit(1)
	}

	fmt.Printf("%-6s %-10s %10s %10s %7s %12s %12s\n", "size", "preset", "onair fps", "ffmpeg fps", "ratio", "onair B/f", "ffmpeg B/f")
	worst := 10.0
	for _, sz := range sizes {
		src := makeFrames(sz)
		for _, preset := range strings.Split(*presets, ",") {
			var ours, theirs float64
			var ourBytes, theirBytes int
			for r := 0; r < *runs; r++ {
				f, b, err := encodeOnAir(sz, preset, src, *frames)
				check(err)
				ours, ourBytes = max(ours, f), b
				f, b, err = encodeFFmpeg(sz, preset, src, *frames)
				check(err)
				theirs, theirBytes = max(theirs, f), b
			}
			ratio := ours / theirs
			worst = min(worst, ratio)
			fmt.Printf("%-6s %-10s %10.1f %10.1f %7.2f %12d %12d\n", sz.name, preset, ours, theirs, ratio,
				ourBytes / *frames, theirBytes / *frames)
		}
	}
	verdict := "meets"
	if worst < 0.95 {
		verdict = "BELOW"
	}
	fmt.Printf("worst fps ratio %.2f: %s the 0.95 target\n\n", worst, verdict)

	benchConvert()
}

// makeFrames renders distinct frames of a screen-like picture: gradients,
// sharp-edged blocks and a little texture, scrolling so motion search works.
func makeFrames(sz size) []*codec.Frame {
	w, h := sz.width, sz.height
	base := image.NewRGBA(image.Rect(0, 0, w+distinct*8, h))
	seed := uint32(1)
	for y := 0; y < h; y++ {
		for x := 0; x < base.Rect.Dx(); x++ {
			seed ^= seed << 13
			seed ^= seed >> 17
			seed ^= seed << 5
			tex := byte(seed & 15)
			p := base.Pix[base.PixOffset(x, y):]
			p[0], p[1], p[2], p[3] = byte(x/5)+tex, byte(y/3)+tex, byte((x+y)/7), 255
			if (x/48+y/32)%5 == 0 { // UI-like flat panels with hard edges
				p[0], p[1], p[2] = 230, 230, 235
			}
		}
	}
	out := make([]*codec.Frame, distinct)
	for i := range out {
		sub := base.SubImage(image.Rect(i*8, 0, i*8+w, h)).(*image.RGBA)
		f, err := codec.NewFrame(codec.I420, w, h)
		check(err)
		check(f.FromRGBA(sub))
		out[i] = f
	}
	return out
}

func settings(sz size, preset string) codec.Settings {
	return codec.Settings{Backend: codec.BackendX264, Width: sz.width, Height: sz.height, FPS: fps,
		BitrateKbps: sz.kbps, KeyframeSeconds: 2, Preset: preset, Profile: "high"}
}

func encodeOnAir(sz size, preset string, src []*codec.Frame, n int) (float64, int, error) {
	start := time.Now()
	enc, err := codec.Open(settings(sz, preset))
	if err != nil {
		return 0, 0, err
	}
	defer enc.Close()
	bytes := 0
	for i := 0; i < n; i++ {
		pkts, err := enc.Encode(src[i%len(src)], time.Duration(i)*time.Second/fps, time.Time{}, false)
		if err != nil {
			return 0, 0, err
		}
		for _, p := range pkts {
			bytes += annexBSize(p)
		}
	}
	pkts, err := enc.Flush()
	for _, p := range pkts {
		bytes += annexBSize(p)
	}
	return float64(n) / time.Since(start).Seconds(), bytes, err
}

func encodeFFmpeg(sz size, preset string, src []*codec.Frame, n int) (float64, int, error) {
	raw := make([][]byte, len(src))
	for i, f := range src {
		raw[i] = append(append(append([]byte(nil), f.Planes[0]...), f.Planes[1]...), f.Planes[2]...)
	}
	k := fmt.Sprintf("%dk", sz.kbps)
	cmd := exec.Command("ffmpeg", "-hide_banner", "-v", "error",
		"-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", fmt.Sprintf("%dx%d", sz.width, sz.height), "-r", fmt.Sprint(fps), "-i", "-",
		"-c:v", "libx264", "-preset", preset, "-tune", "zerolatency", "-profile:v", "high",
		"-b:v", k, "-maxrate", k, "-bufsize", k, "-g", fmt.Sprint(2*fps), "-bf", "0",
		"-x264-params", "force-cfr=1", "-f", "h264", "-")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	go func() {
		for i := 0; i < n; i++ {
			if _, err := stdin.Write(raw[i%len(raw)]); err != nil {
				break
			}
		}
		stdin.Close()
	}()
	bytes, _ := io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return 0, 0, err
	}
	return float64(n) / time.Since(start).Seconds(), int(bytes), nil
}

func benchConvert() {
	const w, h, iters = 1920, 1080, 200
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	bgra := img.Pix // same bytes, read as B,G,R,A
	for _, c := range []struct {
		name   string
		format codec.Format
		conv   func(*codec.Frame) error
	}{
		{"BGRA->I420", codec.I420, func(f *codec.Frame) error { return f.FromBGRA(bgra, 4*w) }},
		{"BGRA->NV12", codec.NV12, func(f *codec.Frame) error { return f.FromBGRA(bgra, 4*w) }},
		{"RGBA->I420", codec.I420, func(f *codec.Frame) error { return f.FromRGBA(img) }},
	} {
		f, err := codec.NewFrame(c.format, w, h)
		check(err)
		check(c.conv(f)) // warm up
		start := time.Now()
		for i := 0; i < iters; i++ {
			check(c.conv(f))
		}
		ms := float64(time.Since(start).Microseconds()) / 1000 / iters
		fmt.Printf("%s 1080p: %.2f ms/frame\n", c.name, ms)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// annexBSize is the size of p in Annex-B form (4-byte start codes), as
// ffmpeg writes the same stream.
func annexBSize(p codec.Packet) int {
	n := 0
	for _, nalu := range p.NALUs {
		n += 4 + len(nalu)
	}
	return n
}
