package jobrun

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

// BenchmarkTranscodeVsFFmpeg transcodes 10 s of 1080p30 to 720p at 3 Mbit/s
// (x264 veryfast, sound copied) as a transcode job does it, and the same
// with the ffmpeg command line in the same run, and reports both speeds and
// their ratio (target: ours / ffmpeg's time ≤ 1.1).
func BenchmarkTranscodeVsFFmpeg(b *testing.B) {
	dir := b.TempDir()
	in := testpeer.MakeMP4(b, dir, "night.mp4", 10, 1920, 1080)
	threads := runtime.NumCPU()
	var ours, theirs time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		err := Run(context.Background(), Spec{Input: in, Threads: threads, Outputs: []Output{{
			Path: filepath.Join(dir, fmt.Sprintf("ours-%d.mp4", i)), Width: 1280, Height: 720, Kbps: 3000, Preset: "veryfast"}}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		start = time.Now()
		cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-threads", strconv.Itoa(threads), "-i", in,
			"-vf", "scale=1280:720", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "3000k", "-threads", strconv.Itoa(threads),
			"-c:a", "copy", "-movflags", "+faststart", "-y", filepath.Join(dir, fmt.Sprintf("ffmpeg-%d.mp4", i)))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ffmpeg: %v\n%s", err, out)
		}
		theirs += time.Since(start)
	}
	n := float64(b.N)
	oursFPS, theirFPS := 300*n/ours.Seconds(), 300*n/theirs.Seconds()
	fmt.Printf("transcode 10 s 1080p30 -> 720p veryfast 3 Mbit/s: jobrun %.0f fps (%.2f s), ffmpeg %.0f fps (%.2f s), time ratio %.2f\n",
		oursFPS, ours.Seconds()/n, theirFPS, theirs.Seconds()/n, ours.Seconds()/theirs.Seconds())
	b.ReportMetric(oursFPS, "fps")
	b.ReportMetric(theirFPS, "ffmpeg-fps")
	b.ReportMetric(ours.Seconds()/theirs.Seconds(), "time-ratio")
}
