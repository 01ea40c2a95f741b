package stats

import (
	"testing"
	"time"

	"github.com/onair-studio/onair/stub/pb"
)

func status(encoded, bytes, skipped, dropped, cpuTicks uint64) *pb.MasterStatus {
	return &pb.MasterStatus{
		Pid:          1,
		CpuTicks:     cpuTicks,
		Encoder:      &pb.EncoderStatus{EncodedFrames: encoded, SkippedFrames: skipped},
		Destinations: []*pb.DestinationStatus{{BytesSent: bytes, FramesDropped: dropped}},
	}
}

func TestRatesOverASecond(t *testing.T) {
	m := &Meter{}
	t0 := time.Unix(1000, 0)
	if r := m.Add(status(0, 0, 0, 0, 100), t0); r.Valid {
		t.Fatal("a reading from one sample")
	}
	if r := m.Add(status(10, 1000, 0, 0, 110), t0.Add(300*time.Millisecond)); r.Valid {
		t.Fatal("a rate over less than a second")
	}
	r := m.Add(status(60, 500_000, 2, 3, 150), t0.Add(2*time.Second))
	if !r.Valid || r.FPS != 30 || r.Kbps != 2000 || r.Skipped != 2 || r.Dropped != 3 || r.CPU != 25 {
		t.Fatalf("got %+v, want 30 fps, 2000 kbit/s, 2 skipped, 3 dropped, 25%% CPU", r)
	}
	// A restarted encoder starts its counters at zero: no negative rates.
	if r := m.Add(status(5, 600_000, 0, 0, 160), t0.Add(3*time.Second)); r.Valid {
		t.Fatalf("counters going back gave %+v", r)
	}
}

// A master that does not report CPU (an older one) shows CPU as unknown.
func TestCPUUnknownWithoutTicks(t *testing.T) {
	m := &Meter{}
	t0 := time.Unix(1000, 0)
	m.Add(status(0, 0, 0, 0, 0), t0)
	if r := m.Add(status(30, 1000, 0, 0, 0), t0.Add(time.Second)); !r.Valid || r.CPU >= 0 {
		t.Fatalf("got %+v, want a valid reading with CPU unknown", r)
	}
}
