package master

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// BenchmarkLiveUnderTranscodeJob streams 720p30 (x264 veryfast) to nginx
// while the worker transcodes 20 s of 1080p30 (x264 veryfast, 1080p out) on
// the same cores, and reports the frames the live encode skipped meanwhile
// (target 0) beside what it skipped in as long a time with no job, and the
// transcode's throughput. It runs once whatever b.N is.
func BenchmarkLiveUnderTranscodeJob(b *testing.B) {
	home := b.TempDir()
	rec := filepath.Join(home, "onair-recordings")
	os.MkdirAll(rec, 0o755)
	testpeer.MakeMP4(b, rec, "night.mp4", 20, 1920, 1080)
	nginx := testpeer.StartNginx(b, testpeer.NginxOptions{})
	m := testpeer.StartMaster(b, testpeer.Binaries(b), []string{"HOME=" + home}, "-children", "encoder,worker",
		"-source", "pattern", "-width", "1280", "-height", "720", "-preset", "veryfast", "-dest", nginx.URL("live", "bench"), "-live")
	awaitLive(m, 1)
	m.Await("the live encode warmed up", 20*time.Second, func() bool { return m.Status().GetEncoder().GetEncodedFrames() >= 150 })
	// The same live stream with no job, as long as the job will take:
	// what the machine's own load costs.
	quiet := m.Status().GetEncoder()
	time.Sleep(15 * time.Second)
	before := m.Status().GetEncoder()
	quietSkipped, quietEncoded := before.GetSkippedFrames()-quiet.GetSkippedFrames(), before.GetEncodedFrames()-quiet.GetEncodedFrames()
	submitted := time.Now()
	j, err := m.Client.SubmitJob(b.Context(), &pb.JobRequest{Kind: "transcode",
		ParamsJson: `{"input":"night.mp4","renditions":[{"width":1920,"height":1080,"bitrate_kbps":6000,"preset":"veryfast"}]}`})
	if err != nil {
		b.Fatal(err)
	}
	m.Await("the transcode done", 10*time.Minute, func() bool {
		j, _ = m.Client.GetJob(b.Context(), &pb.JobID{Id: j.GetId()})
		return j.GetState() == "done" || j.GetState() == "failed"
	})
	took := time.Since(submitted)
	after := m.Status().GetEncoder()
	if j.GetState() != "done" {
		b.Fatalf("transcode: %v", j)
	}
	skipped, encoded := after.GetSkippedFrames()-before.GetSkippedFrames(), after.GetEncodedFrames()-before.GetEncodedFrames()
	fps := 600 / took.Seconds()
	fmt.Printf("live 720p30 under a 1080p transcode job: %d frames skipped of %d encoded (with no job: %d of %d); transcode 20 s of 1080p30 in %.1f s (%.0f fps, %.2fx real time)\n",
		skipped, encoded, quietSkipped, quietEncoded, took.Seconds(), fps, fps/30)
	b.ReportMetric(float64(skipped), "skipped")
	b.ReportMetric(fps, "transcode-fps")
}
