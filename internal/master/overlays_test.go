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
}

func (f *flakyEncoder) SetOverlay(_ context.Context, o *pb.Overlay, _ ...grpc.CallOption) (*pb.Empty, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext > 0 {
		f.failNext--
		return nil, errors.New("deadline exceeded")
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

// A plugin's overlay that is taken away leaves the program even when the
// encoder missed the first removal, and a set that failed is sent again.
func TestOverlayRelayRetriesRemovalsAndSets(t *testing.T) {
	enc := &flakyEncoder{shown: map[string]bool{}}
	r := newOverlayRelay(slog.New(slog.NewTextHandler(io.Discard, nil)),
		func() (pb.EncoderClient, bool) { return enc, true },
		func() (pb.PluginHostClient, bool) { return nil, false },
		func() (int32, int32) { return 640, 360 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

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
