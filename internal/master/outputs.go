package master

import (
	"log/slog"
	"sync"
	"time"

	"github.com/onair-studio/onair/internal/output"
	"github.com/onair-studio/onair/internal/rtsp"
	"github.com/onair-studio/onair/stub/pb"
)

// outputs feeds the program to every destination while the program is live.
// Each destination has its own session, queue and retry schedule, so a
// failing one costs the others nothing.
type outputs struct {
	log      *slog.Logger
	urls     []string
	keyframe func()

	mu       sync.Mutex
	dests    []*output.Destination // nil while off air
	sps, pps []byte                // the current source's, for sessions that start later
}

// setLive starts or stops every destination.
func (o *outputs) setLive(live bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if live == (o.dests != nil) {
		return
	}
	if !live {
		for _, d := range o.dests {
			d.Close()
		}
		o.dests = nil
		return
	}
	o.dests = []*output.Destination{}
	for _, u := range o.urls {
		d := output.StartDestination(output.DestinationConfig{URL: u, OnKeyframeNeeded: o.keyframe, Log: o.log})
		if o.sps != nil {
			d.NewSource(o.sps, o.pps)
		}
		o.dests = append(o.dests, d)
	}
}

func (o *outputs) SourceStarted(path string, sps, pps []byte) {
	if path != programPath {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sps, o.pps = sps, pps
	for _, d := range o.dests {
		d.NewSource(sps, pps)
	}
}

func (o *outputs) AccessUnit(path string, au rtsp.AccessUnit) {
	if path != programPath {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, d := range o.dests {
		// No B-frames: decode order is presentation order.
		d.WriteAccessUnit(au.NALUs, au.PTS, au.PTS)
	}
}

func (o *outputs) SourceStopped(string) {}

func (o *outputs) reconnect(i int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if i < 0 || i >= len(o.dests) {
		return false
	}
	o.dests[i].ReconnectNow()
	return true
}

func (o *outputs) status() []*pb.DestinationStatus {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dests == nil {
		out := make([]*pb.DestinationStatus, len(o.urls))
		for i, u := range o.urls {
			out[i] = &pb.DestinationStatus{Url: output.MaskURL(u), State: "off"}
		}
		return out
	}
	var out []*pb.DestinationStatus
	for _, d := range o.dests {
		s := d.Status()
		ds := &pb.DestinationStatus{
			Url: s.URL, State: string(s.State), Attempts: uint32(s.Attempts),
			FramesSent: s.FramesSent, BytesSent: s.BytesSent, FramesDropped: s.FramesDropped,
		}
		if s.Err != nil {
			ds.Error = s.Err.Error()
		}
		if !s.NextAttempt.IsZero() {
			ds.NextAttemptMs = max(time.Until(s.NextAttempt), 0).Milliseconds()
		}
		out = append(out, ds)
	}
	return out
}

func (o *outputs) close() { o.setLive(false) }
