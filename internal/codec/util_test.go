package codec

import (
	"bytes"
	"encoding/json"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// pattern draws frame i of a moving test picture: a scrolling diagonal
// gradient, colour bars and a square that crosses the frame.
func pattern(i, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	sq := w / 8
	sx, sy := (i*7)%(w-sq), (i*3)%(h-sq)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := img.PixOffset(x, y)
			p := img.Pix[o : o+4]
			switch {
			case x >= sx && x < sx+sq && y >= sy && y < sy+sq:
				p[0], p[1], p[2] = 250, 220, 30
			case y < h/4:
				bar := (x + 2*i) * 7 / w % 7
				p[0], p[1], p[2] = byte(255*(bar&1)), byte(255*(bar>>1&1)), byte(255*(bar>>2&1))
			default:
				p[0] = byte(x + 2*i)
				p[1] = byte(y + i)
				p[2] = byte((x + y) / 2)
			}
			p[3] = 255
		}
	}
	return img
}

// noise fills f with fresh pseudo-random luma and chroma, which no encoder
// can compress: it makes the rate control spend whatever it is allowed.
func noise(f *Frame, seed uint32) {
	s := seed*2654435761 + 1
	for _, p := range f.Planes {
		for i := range p {
			s ^= s << 13
			s ^= s >> 17
			s ^= s << 5
			p[i] = byte(s)
		}
	}
}

func mustFrame(t testing.TB, format Format, w, h int) *Frame {
	t.Helper()
	f, err := NewFrame(format, w, h)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustOpen(t testing.TB, s Settings) *Encoder {
	t.Helper()
	e, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// frameDur is the pts step for fps.
func frameDur(fps int) time.Duration { return time.Second / time.Duration(fps) }

func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is required for this test (Debian package ffmpeg)", name)
	}
}

// run runs a command and returns its stdout, failing the test on error.
func run(t testing.TB, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, errb.String())
	}
	return out.Bytes()
}

// annexB is p in Annex-B form.
func annexB(t testing.TB, p Packet) []byte {
	t.Helper()
	b, err := p.AnnexB()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeStream writes the packets as one Annex-B file and returns its path.
func writeStream(t testing.TB, pkts []Packet) string {
	t.Helper()
	var buf bytes.Buffer
	for _, p := range pkts {
		buf.Write(annexB(t, p))
	}
	path := filepath.Join(t.TempDir(), "out.h264")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// decodeErrors is what ffmpeg reports when decoding path at log level error;
// a clean stream gives "".
func decodeErrors(t testing.TB, path string) string {
	t.Helper()
	needTool(t, "ffmpeg")
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "ffmpeg failed: " + err.Error() + ": " + string(out)
	}
	return string(out)
}

type probeStream struct {
	CodecName    string `json:"codec_name"`
	Profile      string `json:"profile"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	PixFmt       string `json:"pix_fmt"`
	RFrameRate   string `json:"r_frame_rate"`
	NbReadFrames string `json:"nb_read_frames"`
	ColorSpace   string `json:"color_space"`
	ColorRange   string `json:"color_range"`
}

func ffprobe(t testing.TB, path string) probeStream {
	t.Helper()
	needTool(t, "ffprobe")
	out := run(t, nil, "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,profile,width,height,pix_fmt,r_frame_rate,nb_read_frames,color_space,color_range",
		"-of", "json", path)
	var res struct{ Streams []probeStream }
	if err := json.Unmarshal(out, &res); err != nil || len(res.Streams) != 1 {
		t.Fatalf("ffprobe output %q: %v", out, err)
	}
	return res.Streams[0]
}

// decodeRaw decodes path to raw yuv420p frames.
func decodeRaw(t testing.TB, path string) []byte {
	t.Helper()
	needTool(t, "ffmpeg")
	return run(t, nil, "ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
}

// i420Bytes packs a frame the way ffmpeg writes raw yuv420p.
func i420Bytes(f *Frame) []byte {
	cw, ch := (f.Width+1)/2, (f.Height+1)/2
	var out []byte
	rows := func(p []byte, stride, w, h int) {
		for y := 0; y < h; y++ {
			out = append(out, p[y*stride:y*stride+w]...)
		}
	}
	rows(f.Planes[0], f.Strides[0], f.Width, f.Height)
	if f.Format == I420 {
		rows(f.Planes[1], f.Strides[1], cw, ch)
		rows(f.Planes[2], f.Strides[2], cw, ch)
		return out
	}
	for _, off := range []int{0, 1} {
		for y := 0; y < ch; y++ {
			for x := 0; x < cw; x++ {
				out = append(out, f.Planes[1][y*f.Strides[1]+2*x+off])
			}
		}
	}
	return out
}

func psnr(a, b []byte) float64 {
	var sum float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		sum += d * d
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sum/float64(len(a))))
}
