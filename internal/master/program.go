package master

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/slate"
	"github.com/onair-studio/onair/internal/state"
	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/stub/pb"
)

// programPath is where the encoder publishes the program on the return path.
const programPath = "program"

// program receives the encoder's streams from the return path and fans
// them out to whatever reads them in the master, counting the program's
// pictures.
type program struct {
	stream.FanOut
	frames atomic.Uint64
}

func (p *program) Unit(path string, u stream.Unit) {
	if path == programPath && u.Kind == stream.Video {
		p.frames.Add(1)
	}
	p.FanOut.Unit(path, u)
}

// programSlate keeps the slate filter's slates made for the desired sizes
// and frame rate: the encoder makes them (the master links no codec), once
// per size, and the master keeps them for when that encoder is gone.
type programSlate struct {
	filter *slate.Filter
	image  string // the configured picture; empty is the built-in card
	log    *slog.Logger

	mu   sync.Mutex
	made map[string]*pb.SlateRequest // by return path
}

// refresh asks the encoder for the slates the desired state needs that it
// has not made yet, and drops those of paths no longer encoded.
func (s *programSlate) refresh(c pb.EncoderClient, desired func() state.Desired) {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := s.requests(desired()) // read under the lock: the latest call wins
	for path, req := range want {
		if sameSlate(s.made[path], req) {
			continue
		}
		// Generous: a 4K still on a busy machine.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		r, err := c.Slate(ctx, req)
		cancel()
		var sl *slate.Slate
		if err == nil {
			sl, err = slate.FromReply(r, int(req.GetFps()))
		}
		if err != nil {
			s.log.Error("slate not made: an encoder outage would freeze this path", "path", path, "err", err)
			continue
		}
		s.filter.SetSlate(path, sl)
		s.made[path] = req
		s.log.Info("slate ready", "path", path, "size", fmt.Sprintf("%dx%d", req.GetWidth(), req.GetHeight()))
	}
	for path := range s.made {
		if want[path] == nil {
			s.filter.SetSlate(path, nil)
			delete(s.made, path)
		}
	}
}

// requests are the slates d needs, by return path: the program's and each
// encoded rendition's, at their sizes and bitrates and the program's rate.
func (s *programSlate) requests(d state.Desired) map[string]*pb.SlateRequest {
	e := d.Encoder
	req := func(w, h, kbps int) *pb.SlateRequest {
		return &pb.SlateRequest{Width: int32(w), Height: int32(h), Fps: int32(e.FPS),
			KeyframeSeconds: int32(e.KeyframeSeconds), BitrateKbps: int32(kbps), Image: s.image}
	}
	out := map[string]*pb.SlateRequest{programPath: req(e.Width, e.Height, e.BitrateKbps)}
	for _, r := range d.Renditions {
		out[sourcePath(r.Name)] = req(r.Width, r.Height, r.BitrateKbps)
	}
	return out
}

// sameSlate reports whether a slate made for a fits b: the bitrate only
// bounds a still's size, so a live bitrate change keeps the slate.
func sameSlate(a, b *pb.SlateRequest) bool {
	if a == nil {
		return false
	}
	x, y := proto.Clone(a).(*pb.SlateRequest), proto.Clone(b).(*pb.SlateRequest)
	x.BitrateKbps, y.BitrateKbps = 0, 0
	return proto.Equal(x, y)
}
