package filter

import (
	"slices"
	"testing"
	"time"
)

// The round trip of one 720p frame through a pass-through filter in
// another process: copy into the ring, notify, answer, copy back. p50, p95
// and p99 are reported per frame.
func BenchmarkRoundTrip720p(b *testing.B) {
	path := socketPath(b)
	startHelper(b, "pass", path)
	c := Dial(path, 1280, 720, Options{Deadline: time.Second})
	defer c.Close()
	awaitAttached(b, c, 1)
	img := testFrame(1280, 720)
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if !c.Apply(img) {
			b.Fatalf("frame %d bypassed: %+v", i, c.Stats())
		}
		took = append(took, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, took)
}

// The round trip of one mixer block (1024 stereo float samples, 8 KiB)
// through a pass-through sound filter in another process, against its
// deadline of 7.1 ms.
func BenchmarkRoundTripSoundBlock(b *testing.B) {
	path := socketPath(b)
	startHelper(b, "passsound", path)
	c := Dial(path, 1024, 2, Options{Format: FormatF32, Deadline: time.Second})
	defer c.Close()
	awaitAttached(b, c, 1)
	block := make([]float32, 2048)
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if !c.ApplySamples(block) {
			b.Fatalf("block %d bypassed: %+v", i, c.Stats())
		}
		took = append(took, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, took)
}

func reportPercentiles(b *testing.B, took []time.Duration) {
	slices.Sort(took)
	at := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))].Nanoseconds()) / 1e6 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
