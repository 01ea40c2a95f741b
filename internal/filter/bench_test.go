package filter

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The round trip of one 720p frame through a pass-through filter in
// another process: copy into the ring, notify, answer, copy back. p50, p95
// and p99 are reported per frame.
func BenchmarkRoundTrip720p(b *testing.B) {
	path := socketPath(b)
	plugin := startHelper(b, "pass", path)
	c := Dial(path, 1280, 720, Options{Deadline: time.Second})
	defer c.Close()
	awaitAttached(b, c, 1)
	img := testFrame(1280, 720)
	took := make([]time.Duration, 0, b.N)
	cpu := startCPU(b, plugin.PID())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if !c.Apply(img) {
			b.Fatalf("frame %d bypassed: %+v", i, c.Stats())
		}
		took = append(took, time.Since(t0))
	}
	b.StopTimer()
	cpu.report(b)
	reportPercentiles(b, took)
}

// The round trip of one 720p program frame drawn straight into a lent
// slot (here: one row written, the compositor's drawing is not the
// filter's cost) and read where the plugin left it: what a program filter
// costs the encoder per frame.
func BenchmarkLentRoundTrip720p(b *testing.B) {
	path := socketPath(b)
	plugin := startHelper(b, "pass", path)
	c := Dial(path, 1280, 720, Options{Deadline: time.Second})
	defer c.Close()
	awaitAttached(b, c, 1)
	took := make([]time.Duration, 0, b.N)
	cpu := startCPU(b, plugin.PID())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		ln := c.Lend()
		if ln == nil {
			b.Fatalf("frame %d: no slot: %+v", i, c.Stats())
		}
		ln.Image().Pix[4*1280*(i%720)] = byte(i)
		if !ln.Filter() {
			b.Fatalf("frame %d bypassed: %+v", i, c.Stats())
		}
		ln.Return()
		took = append(took, time.Since(t0))
	}
	b.StopTimer()
	cpu.report(b)
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

// procCPU is process pid's user and system time, from /proc (clock ticks
// of 10 ms on Linux: measure over a few hundred frames).
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command's closing parenthesis; utime and
	// stime are the 14th and 15th of the line.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}
