package stats

import (
	"os"
	"testing"
	"time"

	"github.com/onair-studio/onair/stub/pb"
)

func status(encoded, bytes, skipped, dropped uint64) *pb.MasterStatus {
	return &pb.MasterStatus{
		Pid:          1,
		Encoder:      &pb.EncoderStatus{EncodedFrames: encoded, SkippedFrames: skipped},
		Destinations: []*pb.DestinationStatus{{BytesSent: bytes, FramesDropped: dropped}},
	}
}

func TestRatesOverASecond(t *testing.T) {
	ticks := uint64(0)
	m := &Meter{CPUTicks: func([]int) (uint64, bool) { return ticks, true }}
	t0 := time.Unix(1000, 0)
	if r := m.Add(status(0, 0, 0, 0), t0); r.Valid {
		t.Fatal("a reading from one sample")
	}
	if r := m.Add(status(10, 1000, 0, 0), t0.Add(300*time.Millisecond)); r.Valid {
		t.Fatal("a rate over less than a second")
	}
	ticks = 50
	r := m.Add(status(60, 500_000, 2, 3), t0.Add(2*time.Second))
	if !r.Valid || r.FPS != 30 || r.Kbps != 2000 || r.Skipped != 2 || r.Dropped != 3 || r.CPU != 25 {
		t.Fatalf("got %+v, want 30 fps, 2000 kbit/s, 2 skipped, 3 dropped, 25%% CPU", r)
	}
	// A restarted encoder starts its counters at zero: no negative rates.
	if r := m.Add(status(5, 600_000, 0, 0), t0.Add(3*time.Second)); r.Valid {
		t.Fatalf("counters going back gave %+v", r)
	}
}

func TestProcTicksReadsThisProcess(t *testing.T) {
	if _, ok := ProcTicks([]int{os.Getpid()}); !ok {
		t.Skip("no /proc here")
	}
	if _, ok := ProcTicks([]int{-5}); ok {
		t.Fatal("read a process that cannot exist")
	}
}
