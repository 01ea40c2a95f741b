package master

import (
	"context"
	"net"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/state"

	"github.com/onair-studio/onair/stub/pb"
)

// meterEncoder serves the encoder's meter stream over a real socket: a
// reading every few milliseconds with peak, so a test can tell which
// encoder sent it.
type meterEncoder struct {
	pb.UnimplementedEncoderServer
	peak    float64
	streams atomic.Int32 // meter streams open now
}

func (e *meterEncoder) WatchAudioLevels(_ *pb.Empty, s pb.Encoder_WatchAudioLevelsServer) error {
	e.streams.Add(1)
	defer e.streams.Add(-1)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for n := int64(1); ; n++ {
		select {
		case <-s.Context().Done():
			return nil
		case <-tick.C:
		}
		if err := s.Send(&pb.AudioLevels{PeakDbfs: []float64{e.peak, e.peak}, UnixMs: n}); err != nil {
			return err
		}
	}
}

// serveMeters starts an encoder stand-in and returns a client for it and
// its server, stopped when the test ends.
func serveMeters(t *testing.T, peak float64) (pb.EncoderClient, *grpc.Server) {
	c, srv, _ := serveMetersFrom(t, peak)
	return c, srv
}

func serveMetersFrom(t *testing.T, peak float64) (pb.EncoderClient, *grpc.Server, *meterEncoder) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	enc := &meterEncoder{peak: peak}
	pb.RegisterEncoderServer(srv, enc)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	conn, err := grpc.Dial(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewEncoderClient(conn), srv, enc
}

// Meters reach every watcher while the encoder runs, a watcher that reads
// nothing holds up no one, and after the encoder is replaced (a restart)
// the new one's meters come through.
func TestLevelsReachWatchersAcrossRestarts(t *testing.T) {
	first, firstSrv := serveMeters(t, -20)
	var current atomic.Pointer[pb.EncoderClient]
	current.Store(&first)
	r := newLevelRelay(func() (pb.EncoderClient, bool) {
		return *current.Load(), true
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	_, stopStuck := r.Watch() // never reads
	defer stopStuck()
	levels, stop := r.Watch()
	defer stop()
	sawFrom := func(peak float64, n int) bool {
		for seen := 0; seen < n; {
			select {
			case l := <-levels:
				if l.GetPeakDbfs()[0] == peak {
					seen++
				}
			case <-time.After(10 * time.Second):
				return false
			}
		}
		return true
	}
	if !sawFrom(-20, 20) {
		t.Fatal("no meters from the first encoder")
	}
	// The encoder dies; a new one runs.
	firstSrv.Stop()
	second, _ := serveMeters(t, -6)
	current.Store(&second)
	if !sawFrom(-6, 20) {
		t.Fatal("no meters from the encoder after the restart")
	}
}

// The encoder's meters cross to the master only while someone watches
// them: a watcher opens the stream, the last watcher leaving closes it, and
// a new watcher opens it again.
func TestLevelsFollowedOnlyWhileWatched(t *testing.T) {
	c, _, enc := serveMetersFrom(t, -20)
	r := newLevelRelay(func() (pb.EncoderClient, bool) { return c, true })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	await := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not within 10 s: %s", what)
			}
		}
	}

	levels, stop := r.Watch()
	select {
	case <-levels:
	case <-time.After(10 * time.Second):
		t.Fatal("a watcher got no meters")
	}
	_, stopSecond := r.Watch()
	stop()
	stop() // twice is harmless
	if n := enc.streams.Load(); n != 1 {
		t.Fatalf("%d meter streams open with a watcher left, want 1", n)
	}
	stopSecond()
	await("the meter stream closed after the last watcher left", func() bool { return enc.streams.Load() == 0 })
	levels, stop = r.Watch()
	defer stop()
	select {
	case <-levels:
	case <-time.After(10 * time.Second):
		t.Fatal("a new watcher got no meters")
	}
}

// The encoder is configured from the desired state, again after every
// restart, so its config must carry the audio whole.
func TestEncoderConfigCarriesAudio(t *testing.T) {
	d := state.Desired{Audio: config.Audio{BitrateKbps: 96, VolumeDB: -2, Sources: []config.AudioSource{
		{Source: "mic", VolumeDB: -3, Muted: true, OffsetMS: -40}, {Source: "tone:1000"}}}}
	want := &pb.AudioSettings{BitrateKbps: 96, VolumeDb: -2, Sources: []*pb.AudioSource{
		{Source: "mic", VolumeDb: -3, Muted: true, OffsetMs: -40}, {Source: "tone:1000"}}}
	if got := encoderConfig(d).GetAudio(); !proto.Equal(got, want) {
		t.Fatalf("encoder config audio %v, want %v", got, want)
	}
	// The API's empty settings are the defaults, as the proto says.
	if got := audioFromPB(&pb.AudioSettings{}); !reflect.DeepEqual(got, config.DefaultAudio()) {
		t.Fatalf("empty settings read as %+v, want the defaults", got)
	}
}
