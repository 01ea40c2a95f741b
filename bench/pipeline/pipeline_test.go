// Package pipeline compares OnAir's whole pipeline with the ffmpeg command a
// streamer would otherwise run: the same X screen (Xvfb showing a moving
// test source), the same size, frame rate, bitrate and keyframe interval,
// to the same nginx live server, in the same run.
//
//	go test -run '^$' -bench . ./bench/pipeline
package pipeline

import (
	"bufio"
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
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			peakKiB, _ = strconv.Atoi(strings.Fields(v)[0])
		}
	}
	return (ut + st) / 100, peakKiB
}

func BenchmarkPipelineVsFFmpeg(b *testing.B) {
	bin, err := os.MkdirTemp("", "onair-bench")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(bin)
	if err := testpeer.BuildOnAir(bin, false); err != nil {
		b.Fatal(err)
	}
	x, err := xvfb.Start(width, height)
	if err != nil {
		b.Skipf("no Xvfb: %v", err)
	}
	defer x.Close()
	// Moving content on the screen: ffplay showing a test source full size.
	player := exec.Command("ffplay", "-v", "error", "-an", "-noborder", "-left", "0", "-top", "0",
		"-x", strconv.Itoa(width), "-y", strconv.Itoa(height), "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", width, height, fps))
	player.Env = append(os.Environ(), "DISPLAY="+x.Display, "SDL_AUDIODRIVER=dummy")
	if err := player.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = player.Process.Kill(); _ = player.Wait() }()
	nginx := testpeer.StartNginx(b, testpeer.NginxOptions{})

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
