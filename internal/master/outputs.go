package master

import (
	"fmt"
	"log/slog"
	"os/exec"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/output"
	"github.com/onair-studio/onair/internal/rtsp"
	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/stub/pb"
)

// outputs feeds the program to every destination while the program is live.
// Each destination has its own session, queue and retry schedule, so a
// failing one costs the others nothing.
type outputs struct {
	log      *slog.Logger
	keys     keyStore
	retry    config.Retry
	keyframe func()
	// opus starts a WHIP destination's AAC → Opus transcoder; nil: no sound.
	opus func() *exec.Cmd
	// onState hears each destination's state changes (name or masked URL).
	onState func(dest string, s output.DestinationState, err error)

	// changing is held through each change of the list or of live, closes
	// included, so changes happen one at a time and in order; mu only
	// guards the fields below, briefly, and is never held while a session
	// closes (a graceful close can take a second, and the frame path takes
	// mu for every frame).
	changing sync.Mutex
	mu       sync.Mutex
	targets  []target
	dests    []*output.Destination    // nil while off air; same order as targets
	tracks   map[string]stream.Tracks // by return path, for sessions that start later
}

// target is a configured destination, the URL it resolved to (or why it
// did not), and the return path it is fed from.
type target struct {
	dest config.Destination
	url  string
	err  error
	path string
}

func newOutputs(dests []config.Destination, keys keyStore, retry config.Retry, keyframe func(), log *slog.Logger) *outputs {
	o := &outputs{log: log, keys: keys, retry: retry, keyframe: keyframe, tracks: map[string]stream.Tracks{}}
	for _, d := range dests {
		o.targets = append(o.targets, o.target(d))
	}
	return o
}

// target resolves a configured destination.
func (o *outputs) target(d config.Destination) target {
	t := target{dest: d, path: sourcePath(d.Rendition)}
	t.url, t.err = o.keys.resolve(d)
	return t
}

// sourcePath is the return path a rendition (or, for "", the program) is
// published on.
func sourcePath(rendition string) string {
	if rendition == "" {
		return programPath
	}
	return rtsp.RenditionPath(rendition)
}

// start begins publishing to target i; nil when it cannot work as written.
func (o *outputs) start(i int) *output.Destination {
	t := o.targets[i]
	if t.err != nil {
		return nil
	}
	name := t.dest.Name
	if name == "" {
		name = output.MaskURL(t.url)
	}
	var onState func(output.DestinationState, error)
	if o.onState != nil {
		onState = func(s output.DestinationState, err error) { o.onState(name, s, err) }
	}
	d := output.StartDestination(output.DestinationConfig{
		URL: t.url, FirstRetry: o.retry.First, MaxRetry: o.retry.Max, OnKeyframeNeeded: o.keyframe,
		OpusCommand: o.opus, OnState: onState, Log: o.log,
	})
	if tr, ok := o.tracks[t.path]; ok {
		d.NewSource(o.withProgramAudio(t.path, tr))
	}
	return d
}

// add appends a destination, starting it if live.
func (o *outputs) add(d config.Destination) {
	t := o.target(d)
	o.changing.Lock()
	defer o.changing.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.targets = append(o.targets, t)
	if o.dests != nil {
		o.dests = append(o.dests, o.start(len(o.targets)-1))
	}
}

// replace puts d in place of destination i, restarting that destination's
// session if live. False: destination i is no longer old (another call
// changed the list meanwhile), and nothing was replaced.
func (o *outputs) replace(i int, old, d config.Destination) bool {
	t := o.target(d)
	o.changing.Lock()
	defer o.changing.Unlock()
	o.mu.Lock()
	if i >= len(o.targets) || !reflect.DeepEqual(o.targets[i].dest, old) {
		o.mu.Unlock()
		return false
	}
	o.targets[i] = t
	o.mu.Unlock()
	o.restart(i)
	return true
}

// restart ends destination i's session, if live, and starts a new one from
// its target. The old session ends first, so the server never sees the
// same stream published twice. The caller holds changing.
func (o *outputs) restart(i int) {
	o.mu.Lock()
	if o.dests == nil {
		o.mu.Unlock()
		return
	}
	old := o.dests[i]
	o.dests[i] = nil
	o.mu.Unlock()
	closeAll(old)
	o.mu.Lock()
	o.dests[i] = o.start(i)
	o.mu.Unlock()
}

// closeAll ends sessions, all at once, outside mu.
func closeAll(ds ...*output.Destination) {
	var wg sync.WaitGroup
	for _, d := range ds {
		if d != nil {
			wg.Add(1)
			go func() { defer wg.Done(); d.Close() }()
		}
	}
	wg.Wait()
}

// feeds reports whether some destination publishes to url.
func (o *outputs) feeds(url string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.ContainsFunc(o.targets, func(t target) bool { return t.url == url })
}

// remove stops and forgets destination i, returning its config.
func (o *outputs) remove(i int) (config.Destination, bool) {
	o.changing.Lock()
	defer o.changing.Unlock()
	o.mu.Lock()
	if i < 0 || i >= len(o.targets) {
		o.mu.Unlock()
		return config.Destination{}, false
	}
	d := o.targets[i].dest
	var session *output.Destination
	if o.dests != nil {
		session = o.dests[i]
		o.dests = slices.Delete(o.dests, i, i+1)
	}
	o.targets = slices.Delete(o.targets, i, i+1)
	o.mu.Unlock()
	closeAll(session)
	return d, true
}

// destinations is the current list.
func (o *outputs) destinations() []config.Destination {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []config.Destination
	for _, t := range o.targets {
		out = append(out, t.dest)
	}
	return out
}

// setKey stores the key of the destination named name and, if live,
// reconnects it with it. A name no destination has stores nothing.
func (o *outputs) setKey(name, key string) error {
	o.changing.Lock()
	defer o.changing.Unlock()
	o.mu.Lock()
	i := slices.IndexFunc(o.targets, func(t target) bool { return t.dest.Name == name })
	o.mu.Unlock()
	if i < 0 {
		return fmt.Errorf("no destination named %q (see status)", name)
	}
	if err := o.keys.set(name, key); err != nil {
		return err
	}
	o.mu.Lock()
	t := &o.targets[i]
	t.url, t.err = o.keys.resolve(t.dest)
	o.mu.Unlock()
	o.restart(i)
	return nil
}

// setLive starts or stops every destination.
func (o *outputs) setLive(live bool) {
	o.changing.Lock()
	defer o.changing.Unlock()
	o.mu.Lock()
	if live == (o.dests != nil) {
		o.mu.Unlock()
		return
	}
	if !live {
		stopping := o.dests
		o.dests = nil
		o.mu.Unlock()
		closeAll(stopping...)
		return
	}
	o.dests = make([]*output.Destination, len(o.targets))
	for i := range o.targets {
		o.dests[i] = o.start(i)
	}
	o.mu.Unlock()
}

func (o *outputs) SourceStarted(path string, t stream.Tracks) {
	o.mu.Lock()
	defer o.mu.Unlock()
	sound := o.tracks[programPath].Audio
	o.tracks[path] = t
	for i, d := range o.dests {
		switch tp := o.targets[i].path; {
		case d == nil:
		case tp == path:
			d.NewSource(o.withProgramAudio(path, t))
		case path == programPath && !reflect.DeepEqual(sound, t.Audio):
			// A rendition that started before the program learns its sound.
			d.NewSource(o.withProgramAudio(tp, o.tracks[tp]))
		}
	}
}

// withProgramAudio gives a rendition's tracks the program's sound: audio is
// encoded once, on the program, and every output takes it.
func (o *outputs) withProgramAudio(path string, t stream.Tracks) stream.Tracks {
	if path != programPath {
		t.Audio = o.tracks[programPath].Audio
	}
	return t
}

// Unit sends a picture to the destinations fed from its path, and the
// program's sound to every destination.
func (o *outputs) Unit(path string, u stream.Unit) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, d := range o.dests {
		switch {
		case d == nil:
		case u.Kind == stream.Audio && path == programPath:
			d.WriteAudio(u.AAC, u.PTS)
		case u.Kind == stream.Video && o.targets[i].path == path:
			// No B-frames: decode order is presentation order.
			d.WriteAccessUnit(u.NALUs, u.PTS, u.PTS)
		}
	}
}

func (o *outputs) SourceStopped(string) {}

func (o *outputs) reconnect(i int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if i < 0 || i >= len(o.dests) || o.dests[i] == nil {
		return false
	}
	o.dests[i].ReconnectNow()
	return true
}

func (o *outputs) status() []*pb.DestinationStatus {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*pb.DestinationStatus
	for i, t := range o.targets {
		ds := &pb.DestinationStatus{Name: t.dest.Name, Url: output.MaskURL(t.url), State: "off", Rendition: t.dest.Rendition}
		if ds.Url == "" {
			ds.Url = t.dest.Service
		}
		out = append(out, ds)
		switch {
		case t.err != nil:
			ds.State, ds.Error = string(output.DestFailed), t.err.Error()
			continue
		case o.dests == nil || o.dests[i] == nil:
			continue
		}
		s := o.dests[i].Status()
		ds.State, ds.Attempts = string(s.State), uint32(s.Attempts)
		ds.FramesSent, ds.BytesSent, ds.FramesDropped = s.FramesSent, s.BytesSent, s.FramesDropped
		ds.AudioFramesSent, ds.Link = s.AudioFramesSent, s.Link.String()
		if s.Err != nil {
			ds.Error = s.Err.Error()
		}
		if !s.NextAttempt.IsZero() {
			ds.NextAttemptMs = max(time.Until(s.NextAttempt), 0).Milliseconds()
		}
	}
	return out
}

func (o *outputs) close() { o.setLive(false) }
