package master

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// flakyEncoder takes overlay messages like the encoder, except that it
// refuses the next failNext of them, as a busy or restarting encoder's RPC
// would fail.
type flakyEncoder struct {
	pb.EncoderClient
	mu       sync.Mutex
	failNext int
	shown    map[string]bool
	sets     map[string]int // set calls per overlay id, refused ones too
}

func (f *flakyEncoder) SetOverlay(_ context.Context, o *pb.Overlay, _ ...grpc.CallOption) (*pb.Empty, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext > 0 {
		f.failNext--
		return nil, errors.New("deadline exceeded")
	}
	if !o.GetRemoved() {
		f.sets[o.GetId()]++
		if o.GetWidth() < 0 { // what the real encoder refuses, as it does
			return nil, status.Error(codes.InvalidArgument, "overlay "+o.GetId()+": malformed")
		}
	}
	if o.GetRemoved() {
		delete(f.shown, o.GetId())
	} else {
		f.shown[o.GetId()] = true
	}
	return &pb.Empty{}, nil
}

func (f *flakyEncoder) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id := range f.shown {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// startRelay runs an overlay relay into a flakyEncoder until the test ends.
func startRelay(t *testing.T) (*flakyEncoder, *overlayRelay) {
	enc := &flakyEncoder{shown: map[string]bool{}, sets: map[string]int{}}
	r := newOverlayRelay(slog.New(slog.NewTextHandler(io.Discard, nil)),
		func() (pb.EncoderClient, bool) { return enc, true },
		func() (pb.PluginHostClient, bool) { return nil, false },
		func() (int32, int32) { return 640, 360 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return enc, r
}

// A plugin's overlay that is taken away leaves the program even when the
// encoder missed the first removal, and a set that failed is sent again.
func TestOverlayRelayRetriesRemovalsAndSets(t *testing.T) {
	enc, r := startRelay(t)

	r.msgs <- &pb.Overlay{Id: "clock"}
	r.msgs <- &pb.Overlay{Id: "logo"}
	testpeer.Await(t, 2*time.Second, "both overlays shown", func() bool { return slices.Equal(enc.ids(), []string{"clock", "logo"}) })

	enc.mu.Lock()
	enc.failNext = 1
	enc.mu.Unlock()
	r.msgs <- &pb.Overlay{Id: "clock", Removed: true}
	testpeer.Await(t, 2*time.Second, "the clock removed after a failed removal", func() bool {
		return slices.Equal(enc.ids(), []string{"logo"})
	})

	enc.mu.Lock()
	enc.failNext = 1
	enc.mu.Unlock()
	r.msgs <- &pb.Overlay{Id: "score"}
	testpeer.Await(t, 2*time.Second, "a failed set sent again", func() bool {
		return slices.Equal(enc.ids(), []string{"logo", "score"})
	})
}

// An overlay the encoder refuses as malformed is not sent again and again:
// it would be refused every time and, kept for resending, hold up the good
// overlays after an encoder restart. The plugin's last good one stays.
func TestOverlayRelayDropsRefusedOverlays(t *testing.T) {
	enc, r := startRelay(t)

	r.msgs <- &pb.Overlay{Id: "clock"}
	r.msgs <- &pb.Overlay{Id: "clock", Width: -1} // the clock's plugin lies once
	r.msgs <- &pb.Overlay{Id: "junk", Width: -1}  // and this one always
	enc.mu.Lock()
	enc.failNext = 1 // then a call fails, so the relay resends what it keeps
	enc.mu.Unlock()
	r.msgs <- &pb.Overlay{Id: "logo"}
	testpeer.Await(t, 2*time.Second, "the logo shown after a failed send", func() bool {
		return slices.Equal(enc.ids(), []string{"clock", "logo"})
	})

	// A restarted encoder gets every kept overlay again: the good clock (the
	// malformed update would be refused, and the clock missing), and not the
	// junk.
	enc.mu.Lock()
	clear(enc.shown)
	enc.mu.Unlock()
	r.encoderRestarted()
	testpeer.Await(t, 2*time.Second, "the overlays shown again after an encoder restart", func() bool {
		return slices.Equal(enc.ids(), []string{"clock", "logo"})
	})
	enc.mu.Lock()
	defer enc.mu.Unlock()
	if enc.sets["junk"] != 1 {
		t.Errorf("the malformed overlay was sent %d times, want once", enc.sets["junk"])
	}
}
