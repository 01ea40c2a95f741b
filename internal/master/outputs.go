package master

import (
	"log/slog"
	"sync"
	"time"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/encoder"
	"github.com/onair-studio/onair/internal/output"
	"github.com/onair-studio/onair/internal/rtsp"
	"github.com/onair-studio/onair/stub/pb"
)

// outputs feeds the program to every destination while the program is live.
// Each destination has its own session, queue and retry schedule, so a
// failing one costs the others nothing.
type outputs struct {
	log      *slog.Logger
	targets  []target
	keyframe func()

	mu     sync.Mutex
	dests  []*output.Destination // nil while off air; same order as targets
	params map[string][2][]byte  // SPS and PPS by return path, for sessions that start later
}

// target is a destination URL and the return path it is fed from.
type target struct {
	url, path string
}

func newOutputs(dests []config.Destination, keyframe func(), log *slog.Logger) *outputs {
	o := &outputs{log: log, keyframe: keyframe, params: map[string][2][]byte{}}
	for _, d := range dests {
		path := programPath
		if d.Rendition != "" {
			path = encoder.RenditionPath(d.Rendition)
		}
		o.targets = append(o.targets, target{url: d.URL, path: path})
	}
	return o
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
	for _, t := range o.targets {
		d := output.StartDestination(output.DestinationConfig{URL: t.url, OnKeyframeNeeded: o.keyframe, Log: o.log})
		if p, ok := o.params[t.path]; ok {
			d.NewSource(p[0], p[1])
		}
		o.dests = append(o.dests, d)
	}
}

func (o *outputs) SourceStarted(path string, sps, pps []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.params[path] = [2][]byte{sps, pps}
	for i, d := range o.dests {
		if o.targets[i].path == path {
			d.NewSource(sps, pps)
		}
	}
}

func (o *outputs) AccessUnit(path string, au rtsp.AccessUnit) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, d := range o.dests {
		if o.targets[i].path == path {
			// No B-frames: decode order is presentation order.
			d.WriteAccessUnit(au.NALUs, au.PTS, au.PTS)
		}
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
		out := make([]*pb.DestinationStatus, len(o.targets))
		for i, t := range o.targets {
			out[i] = &pb.DestinationStatus{Url: output.MaskURL(t.url), State: "off"}
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
