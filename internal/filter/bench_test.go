package filter

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/onair-studio/onair/internal/procstat"
)

// The round trip of one 720p frame through a pass-through filter in
// another process: copy into the ring, notify, answer, copy back. p50, p95
// and p99 are reported per frame.
func BenchmarkRoundTrip720p(b *testing.B) {
	img := testFrame(1280, 720)
	roundTrips(b, "pass", 1280, 720, Options{}, func(c *Client, _ int) bool { return c.Apply(img) })
}

// The round trip of one 720p program frame drawn straight into a lent
// slot (here: one row written, the compositor's drawing is not the
// filter's cost) and read where the plugin left it: what a program filter
// costs the encoder per frame.
func BenchmarkLentRoundTrip720p(b *testing.B) {
	roundTrips(b, "pass", 1280, 720, Options{}, func(c *Client, i int) bool {
		ln := c.Lend()
		if ln == nil {
			return false
		}
		defer ln.Return()
		ln.Image().Pix[4*1280*(i%720)] = byte(i)
		return ln.Filter()
	})
}

// The round trip of one mixer block (1024 stereo float samples, 8 KiB)
// through a pass-through sound filter in another process, against its
// deadline of 7.1 ms.
func BenchmarkRoundTripSoundBlock(b *testing.B) {
	block := make([]float32, 2048)
	roundTrips(b, "passsound", 1024, 2, Options{Format: FormatF32}, func(c *Client, _ int) bool { return c.ApplySamples(block) })
}

// roundTrips times b.N frames of w×h through a plugin helper in mode:
// frame sends frame i and says whether it came back filtered.
func roundTrips(b *testing.B, mode string, w, h int, o Options, frame func(c *Client, i int) bool) {
	path := socketPath(b)
	plugin := startHelper(b, mode, path)
	o.Deadline = time.Second
	c := Dial(path, w, h, o)
	defer c.Close()
	awaitAttached(b, c, 1)
	took := make([]time.Duration, 0, b.N)
	cpu := startCPU(b, plugin.PID())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if !frame(c, i) {
			b.Fatalf("frame %d not filtered: %+v", i, c.Stats())
		}
		took = append(took, time.Since(t0))
	}
	b.StopTimer()
	cpu.report(b)
	reportPercentiles(b, took)
}

func reportPercentiles(b *testing.B, took []time.Duration) {
	slices.Sort(took)
	at := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))].Nanoseconds()) / 1e6 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// cpuMeter measures the CPU time this process and the plugin's spend,
// reported per frame: on two busy cores it is what a filter costs the
// rest of the pipeline, more than its wait.
type cpuMeter struct {
	pid         int
	self, other time.Duration
}

func startCPU(b *testing.B, pid int) cpuMeter {
	return cpuMeter{pid: pid, self: selfCPU(b), other: procCPU(b, pid)}
}

func (m cpuMeter) report(b *testing.B) {
	n := float64(b.N)
	b.ReportMetric(float64((selfCPU(b)-m.self).Microseconds())/n, "encoder-cpu-us/frame")
	b.ReportMetric(float64((procCPU(b, m.pid)-m.other).Microseconds())/n, "plugin-cpu-us/frame")
}

func selfCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is process pid's user and system time (clock ticks of 10 ms:
// measure over a few hundred frames).
func procCPU(b *testing.B, pid int) time.Duration {
	ticks, ok := procstat.Ticks([]int{pid})
	if !ok {
		b.Fatalf("no CPU time for pid %d", pid)
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
