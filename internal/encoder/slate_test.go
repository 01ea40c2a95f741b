package encoder

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"golang.org/x/sys/unix"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// decodeSlate writes the slate's GOP as Annex-B, decodes it with ffmpeg and
// returns the number of pictures and the last one as RGB24.
func decodeSlate(t *testing.T, r *pb.SlateReply, w, h int) (int, []byte) {
	t.Helper()
	testpeer.Need(t, "ffmpeg")
	var stream []byte
	for _, au := range r.GetAccessUnits() {
		b, err := h264.AnnexB(au.GetNalus()).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, b...)
	}
	path := filepath.Join(t.TempDir(), "slate.h264")
	if err := os.WriteFile(path, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg cannot decode the slate: %v", err)
	}
	size := 3 * w * h
	if len(out)%size != 0 {
		t.Fatalf("decoded %d bytes, not whole %dx%d pictures", len(out), w, h)
	}
	return len(out) / size, out[len(out)-size:]
}

func near(t *testing.T, what string, rgb []byte, w, x, y int, want color.RGBA) {
	t.Helper()
	i := 3 * (y*w + x)
	for c, v := range []uint8{want.R, want.G, want.B} {
		if d := int(rgb[i+c]) - int(v); d < -12 || d > 12 {
			t.Fatalf("%s: pixel (%d,%d) is %v, want about %v", what, x, y, rgb[i:i+3], want)
		}
	}
}

// The built-in card decodes as one GOP of the asked size and rate: an IDR
// with its parameter sets, then small P-frames, showing the card's colour
// with white text across the middle.
func TestSlateCard(t *testing.T) {
	const w, h = 640, 360
	r, err := New().Slate(context.Background(), &pb.SlateRequest{Width: w, Height: h, Fps: 30, KeyframeSeconds: 2, BitrateKbps: 2500})
	if err != nil {
		t.Fatal(err)
	}
	aus := r.GetAccessUnits()
	if len(aus) != 60 || !h264.IsRandomAccess(aus[0].GetNalus()) || len(r.GetSps()) == 0 || len(r.GetPps()) == 0 {
		t.Fatalf("%d access units (first random access: %v), SPS %d bytes: want 60 from an IDR, with parameter sets",
			len(aus), len(aus) > 0 && h264.IsRandomAccess(aus[0].GetNalus()), len(r.GetSps()))
	}
	total := 0
	for i, au := range aus[1:] {
		for _, n := range au.GetNalus() {
			total += len(n)
			if typ := h264.NALUType(n[0] & 0x1f); typ == h264.NALUTypeSEI || typ == h264.NALUTypeIDR {
				t.Fatalf("access unit %d holds NAL unit type %v", i+1, typ)
			}
		}
	}
	t.Logf("IDR %d bytes, 59 P-frames %d bytes", len(aus[0].GetNalus()[len(aus[0].GetNalus())-1]), total)
	n, last := decodeSlate(t, r, w, h)
	if n != 60 {
		t.Fatalf("decoded %d pictures, want 60", n)
	}
	near(t, "background", last, w, 10, 10, SlateBackground)
	white := 0
	for x := 0; x < w; x++ {
		i := 3 * (h/2*w + x)
		if last[i] > 200 && last[i+1] > 200 && last[i+2] > 200 {
			white++
		}
	}
	if white < w/20 {
		t.Fatalf("%d white pixels across the middle row: no text", white)
	}
}

// A configured picture is fitted in with its proportions, on black.
func TestSlatePicture(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 100, 100))
	for i := range src.Pix {
		src.Pix[i] = []uint8{200, 30, 30, 255}[i%4]
	}
	path := filepath.Join(t.TempDir(), "brb.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, src); err != nil {
		t.Fatal(err)
	}
	f.Close()
	const w, h = 320, 180
	r, err := New().Slate(context.Background(), &pb.SlateRequest{Width: w, Height: h, Fps: 10, KeyframeSeconds: 1, Image: path})
	if err != nil {
		t.Fatal(err)
	}
	_, last := decodeSlate(t, r, w, h)
	near(t, "the picture", last, w, w/2, h/2, color.RGBA{200, 30, 30, 255})
	near(t, "the side bar", last, w, 10, h/2, color.RGBA{0, 0, 0, 255})

	if _, err := New().Slate(context.Background(), &pb.SlateRequest{Width: w, Height: h, Fps: 10, Image: filepath.Join(t.TempDir(), "none.png")}); err == nil {
		t.Fatal("a missing picture gave no error")
	}
}

// backgroundThreads are this process's threads, other than the main one, at
// the lowest CPU priority (nice 19).
func backgroundThreads(t *testing.T) []string {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		if err != nil || tid == os.Getpid() {
			continue
		}
		// The system call answers 20 - nice; an error is a thread just ended.
		if p, err := unix.Getpriority(unix.PRIO_PROCESS, tid); err == nil && p == 1 {
			out = append(out, task.Name())
		}
	}
	return out
}

// A slate is encoded while the program is, after every change of size or
// rate: at normal priority its libx264 took the program's cores for
// seconds and the program skipped frames. Its encoder and every thread
// libx264 starts for it must run at the lowest priority, and end with it.
func TestSlateYieldsToTheProgram(t *testing.T) {
	if n := len(backgroundThreads(t)); n != 0 {
		t.Fatalf("%d threads at the lowest priority before the slate", n)
	}
	done := make(chan error, 1)
	go func() {
		_, err := New().Slate(context.Background(), &pb.SlateRequest{Width: 1280, Height: 720, Fps: 60, KeyframeSeconds: 4, BitrateKbps: 4000})
		done <- err
	}()
	most := 0
	for wait := true; wait; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			wait = false
		default:
			most = max(most, len(backgroundThreads(t)))
			time.Sleep(time.Millisecond)
		}
	}
	// The encoding goroutine's thread, libavcodec's send thread and
	// libx264's own.
	if most < 3 {
		t.Errorf("at most %d threads ran at the lowest priority while the slate was made, want its encoder's (3 or more)", most)
	}
	testpeer.Await(t, 10*time.Second, "the slate's threads to end", func() bool { return len(backgroundThreads(t)) == 0 })
}
