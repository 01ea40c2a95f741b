// Package pipeline compares OnAir's whole pipeline with the ffmpeg command a
// streamer would otherwise run: the same X screen (Xvfb showing a moving
// test source), the same size, frame rate, bitrate and keyframe interval,
// to the same nginx live server, in the same run.
//
//	go test -run '^$' -bench . ./bench/pipeline
package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/capture/xvfb"
	"github.com/onair-studio/onair/internal/testpeer"
)

const (
	width, height = 1280, 720
	fps           = 30
	kbps          = 3000
	window        = 20 * time.Second
)

// procStat returns a process's CPU seconds and peak resident memory (KiB).
func procStat(b *testing.B, pid int) (cpu float64, peakKiB int) {
	d, peak, err := testpeer.ProcUsage(pid)
	if err != nil {
		b.Fatal(err)
	}
	return d.Seconds(), peak
}

// screenStage builds OnAir and starts Xvfb with moving content (ffplay
// showing a test source full size) and an nginx live server.
func screenStage(b *testing.B, w, h int) (bin string, x *xvfb.Server, nginx *testpeer.Nginx) {
	bin = b.TempDir()
	if err := testpeer.BuildOnAir(bin, false); err != nil {
		b.Fatal(err)
	}
	x, err := xvfb.Start(w, h)
	if err != nil {
		b.Skipf("no Xvfb: %v", err)
	}
	b.Cleanup(func() { x.Close() })
	player := exec.Command("ffplay", "-v", "error", "-an", "-noborder", "-left", "0", "-top", "0",
		"-x", strconv.Itoa(w), "-y", strconv.Itoa(h), "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", w, h, fps))
	player.Env = append(os.Environ(), "DISPLAY="+x.Display, "SDL_AUDIODRIVER=dummy")
	if err := player.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = player.Process.Kill(); _ = player.Wait() })
	return bin, x, testpeer.StartNginx(b, testpeer.NginxOptions{})
}

func BenchmarkPipelineVsFFmpeg(b *testing.B) {
	bin, x, nginx := screenStage(b, width, height)

	// OnAir: master and encoder.
	m := testpeer.StartMaster(b, bin, []string{"DISPLAY=" + x.Display}, "-children", "encoder", "-source", "screen",
		"-width", strconv.Itoa(width), "-height", strconv.Itoa(height), "-fps", strconv.Itoa(fps), "-preset", "veryfast",
		"-bitrate", strconv.Itoa(kbps), "-dest", nginx.URL("live", "onair"), "-live")
	m.Await("live", 20*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > fps
	})
	st0 := m.Status()
	master, encoder := m.Cmd.Process.Pid, int(testpeer.Child(st0, "encoder").GetPid())
	mc0, _ := procStat(b, master)
	ec0, _ := procStat(b, encoder)
	time.Sleep(window) // the measurement window
	st1 := m.Status()
	mc1, mPeak := procStat(b, master)
	ec1, ePeak := procStat(b, encoder)
	m.Stop()
	frames := float64(st1.GetEncoder().GetEncodedFrames() - st0.GetEncoder().GetEncodedFrames())
	skipped := st1.GetEncoder().GetSkippedFrames() - st0.GetEncoder().GetSkippedFrames()
	onair := (mc1 - mc0 + ec1 - ec0) / frames

	// ffmpeg: x11grab straight to the same server, same settings.
	ff := exec.Command("ffmpeg", "-hide_banner", "-nostats", "-loglevel", "error",
		"-f", "x11grab", "-framerate", strconv.Itoa(fps), "-video_size", fmt.Sprintf("%dx%d", width, height), "-i", x.Display,
		"-t", strconv.Itoa(int(window.Seconds())), "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
		"-b:v", fmt.Sprintf("%dk", kbps), "-maxrate", fmt.Sprintf("%dk", kbps), "-bufsize", fmt.Sprintf("%dk", kbps),
		"-g", strconv.Itoa(2*fps), "-bf", "0", "-pix_fmt", "yuv420p", "-progress", "pipe:1", "-f", "flv", nginx.URL("live", "ffmpeg"))
	ff.Env = append(os.Environ(), "DISPLAY="+x.Display)
	progress, err := ff.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := ff.Start(); err != nil {
		b.Fatal(err)
	}
	ffFrames := 0.0
	sc := bufio.NewScanner(progress)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "frame="); ok {
			ffFrames, _ = strconv.ParseFloat(v, 64)
		}
	}
	if err := ff.Wait(); err != nil {
		b.Fatalf("ffmpeg: %v", err)
	}
	ru := ff.ProcessState.SysUsage().(*syscall.Rusage)
	ffCPU := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	ffmpegPerFrame := ffCPU / ffFrames

	fmt.Printf("whole pipeline, X11 screen %dx%d at %d fps, veryfast, %d kbit/s, to nginx, %v each:\n", width, height, fps, kbps, window)
	fmt.Printf("  OnAir  %.2f ms CPU/frame (master %.1f s + encoder %.1f s over %.0f frames, %d skipped); peak RSS master %d MiB, encoder %d MiB\n",
		onair*1000, mc1-mc0, ec1-ec0, frames, skipped, mPeak/1024, ePeak/1024)
	fmt.Printf("  ffmpeg %.2f ms CPU/frame (%.1f s over %.0f frames); peak RSS %d MiB\n",
		ffmpegPerFrame*1000, ffCPU, ffFrames, ru.Maxrss/1024)
	fmt.Printf("  ratio OnAir/ffmpeg %.2f (target <= 0.95)\n", onair/ffmpegPerFrame)
	b.ReportMetric(onair/ffmpegPerFrame, "cpu-ratio")
}

// BenchmarkSustainedFPS raises the frame rate of OnAir's screen pipeline
// (capture, compose, convert, encode, send to nginx) until frames are
// skipped, at 720p veryfast and 1080p ultrafast, and reports the highest
// rate held for 8 s with none skipped.
func BenchmarkSustainedFPS(b *testing.B) {
	for _, c := range []struct {
		w, h   int
		preset string
	}{{1280, 720, "veryfast"}, {1920, 1080, "ultrafast"}} {
		bin, x, nginx := screenStage(b, c.w, c.h)
		m := testpeer.StartMaster(b, bin, []string{"DISPLAY=" + x.Display}, "-children", "encoder", "-source", "screen",
			"-width", strconv.Itoa(c.w), "-height", strconv.Itoa(c.h), "-preset", c.preset, "-bitrate", "6000",
			"-dest", nginx.URL("live", "fps"), "-live")
		best := 0
		for _, rate := range []int{30, 45, 60, 75, 90, 120} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			set := m.Status().GetSettings()
			set.Fps = int32(rate)
			_, err := m.Client.SetEncoder(ctx, set)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			m.Await("running at the new rate", 20*time.Second, func() bool {
				e := m.Status().GetEncoder()
				return e.GetConfig().GetFps() == int32(rate) && e.GetEncodedFrames() > uint64(rate)
			})
			s0 := m.Status().GetEncoder()
			time.Sleep(8 * time.Second) // the measurement window
			s1 := m.Status().GetEncoder()
			skipped := s1.GetSkippedFrames() - s0.GetSkippedFrames()
			got := float64(s1.GetEncodedFrames()-s0.GetEncodedFrames()) / 8
			fmt.Printf("%dx%d %s at %d fps: %.1f fps encoded, %d skipped\n", c.w, c.h, c.preset, rate, got, skipped)
			if skipped > 0 {
				break
			}
			best = rate
		}
		m.Stop()
		fmt.Printf("highest sustained rate with no skipped frames, %dx%d %s from the X screen: %d fps\n", c.w, c.h, c.preset, best)
		b.ReportMetric(float64(best), fmt.Sprintf("fps-%dp", c.h))
	}
}
