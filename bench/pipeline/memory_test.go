package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

// BenchmarkEncoderMemoryAfterChanges changes the frame rate of a 1080p
// program 16 times, as a streamer trying settings would, each change a new
// pipeline and encoder, and reports the encoder's resident memory before
// and 5 s after: what the replaced pipelines left behind.
func BenchmarkEncoderMemoryAfterChanges(b *testing.B) {
	const changes = 16
	m := testpeer.StartMaster(b, testpeer.Binaries(b), nil, "-children", "encoder", "-source", "pattern",
		"-width", "1920", "-height", "1080", "-preset", "ultrafast", "-fps", "30", "-standby=false")
	defer m.Stop()
	running := func(rate int32) func() bool {
		return func() bool {
			e := m.Status().GetEncoder()
			return e.GetConfig().GetFps() == rate && e.GetEncodedFrames() > 30
		}
	}
	m.Await("encoding", 30*time.Second, running(30))
	pid := int(testpeer.Child(m.Status(), "encoder").GetPid())
	resident := func() int64 {
		rss, err := testpeer.RSS(pid)
		if err != nil {
			b.Fatal(err)
		}
		return rss >> 20
	}
	first := resident()
	for i := 1; i <= changes; i++ {
		set := m.Status().GetSettings()
		set.Fps = int32(30 + i%2)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := m.Client.SetEncoder(ctx, set)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		m.Await("running at the new rate", 20*time.Second, running(set.Fps))
	}
	time.Sleep(5 * time.Second) // the last change's slate and pipeline settle
	if now := int(testpeer.Child(m.Status(), "encoder").GetPid()); now != pid {
		b.Fatalf("the encoder restarted (pid %d, then %d)", pid, now)
	}
	last := resident()
	fmt.Printf("encoder resident memory, 1080p ultrafast: %d MiB encoding, %d MiB after %d changes of rate\n", first, last, changes)
	b.ReportMetric(float64(last), "MiB-after")
}
