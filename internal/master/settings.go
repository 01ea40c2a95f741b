package master

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/hotkey"
	"github.com/onair-studio/onair/internal/state"
	"github.com/onair-studio/onair/stub/pb"
)

// change validates a new desired state with the config's own checks, makes
// it current, pushes it to the children and saves part of it to the config
// file.
func (m *Master) change(ctx context.Context, apply func(*state.Desired), save func(*config.Config)) (*pb.MasterStatus, error) {
	return m.changeChecked(ctx, func(d *state.Desired) error { apply(d); return nil }, save)
}

// changeChecked is change with an apply that can refuse (with a gRPC
// status error, or one taken as a bad argument): then nothing changes.
func (m *Master) changeChecked(ctx context.Context, apply func(*state.Desired) error, save func(*config.Config)) (*pb.MasterStatus, error) {
	m.changes.Lock()
	defer m.changes.Unlock()
	next := m.state.Get()
	if err := apply(&next); err != nil {
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := m.validate(next, m.outputs.destinations()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	// Under the changes lock the state is the one just checked, so the
	// same apply gives the same result.
	if _, changed := m.state.Update(func(d *state.Desired) { _ = apply(d) }); changed {
		m.reconcile()
	}
	if m.configPath != "" {
		if err := config.Update(m.configPath, save); err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "applied, but not saved to %s: %v", m.configPath, err)
		}
	}
	return m.Status(ctx, nil)
}

// validate runs the config file's own checks on a desired state and a
// destination list, so nothing the file would refuse gets in through the
// API either.
func (m *Master) validate(d state.Desired, dests []config.Destination) error {
	c := config.Default()
	c.Encoder, c.Renditions, c.Plugins.List, c.Destinations = d.Encoder, m.renditions, d.Plugins, dests
	c.Audio = d.Audio
	c.Filters = d.Filters
	c.Scenes = d.Scenes
	return c.Validate()
}

// SetEncoder changes the video settings.
func (m *Master) SetEncoder(ctx context.Context, s *pb.EncoderSettings) (*pb.MasterStatus, error) {
	set := func(e *config.Encoder) {
		e.Width, e.Height, e.FPS = int(s.GetWidth()), int(s.GetHeight()), int(s.GetFps())
		e.BitrateKbps, e.KeyframeSeconds = int(s.GetBitrateKbps()), int(s.GetKeyframeSeconds())
		e.Preset, e.Backend, e.Source = s.GetPreset(), s.GetBackend(), s.GetSource()
	}
	return m.change(ctx, func(d *state.Desired) { set(&d.Encoder) }, func(c *config.Config) { set(&c.Encoder) })
}

// SetScene replaces the layers of the scene on air (of encoder.layers
// when there are no named scenes).
func (m *Master) SetScene(ctx context.Context, sc *pb.Scene) (*pb.MasterStatus, error) {
	layers := configLayers(sc.GetLayers())
	if m.state.Get().Scenes.OnAir() != nil {
		return m.editScenes(ctx, func(s *config.Scenes) error {
			s.OnAir().Layers = layers
			return nil
		})
	}
	return m.change(ctx, func(d *state.Desired) { d.Encoder.Layers = layers },
		func(c *config.Config) { c.Encoder.Layers = layers })
}

// SetPlugins replaces the plugin list.
func (m *Master) SetPlugins(ctx context.Context, pl *pb.PluginList) (*pb.MasterStatus, error) {
	var list []config.Plugin
	for _, p := range pl.GetPlugins() {
		list = append(list, config.Plugin{Name: p.GetName(), Binary: p.GetBinary(), Params: p.GetParams()})
	}
	return m.change(ctx, func(d *state.Desired) { d.Plugins = list }, func(c *config.Config) { c.Plugins.List = list })
}

// windowKeys are the window's keys: the configured ones, then the
// defaults they leave unbound.
func windowKeys(configured []config.Hotkey) []*pb.Hotkey {
	var in []hotkey.Binding
	for _, h := range configured {
		in = append(in, hotkey.Binding{Key: h.Key, Action: h.Action})
	}
	var out []*pb.Hotkey
	for _, b := range hotkey.Merge(in) {
		out = append(out, &pb.Hotkey{Key: b.Key, Action: b.Action})
	}
	return out
}

// SetFilters replaces the filter list.
func (m *Master) SetFilters(ctx context.Context, fl *pb.FilterList) (*pb.MasterStatus, error) {
	var list []config.Filter
	for _, f := range fl.GetFilters() {
		list = append(list, config.Filter{Name: f.GetName(), Binary: f.GetBinary(), Layer: f.GetLayer(), Params: f.GetParams()})
	}
	return m.change(ctx, func(d *state.Desired) { d.Filters = list }, func(c *config.Config) { c.Filters = list })
}

// fillDesired adds the desired settings, scene and plugins to a status.
func fillDesired(st *pb.MasterStatus, d state.Desired) {
	e := d.Encoder
	st.Settings = &pb.EncoderSettings{
		Width: int32(e.Width), Height: int32(e.Height), Fps: int32(e.FPS), BitrateKbps: int32(e.BitrateKbps),
		KeyframeSeconds: int32(e.KeyframeSeconds), Preset: e.Preset, Backend: e.Backend, Source: e.Source,
	}
	ec := encoderConfig(d)
	st.Scene, st.ProgramScene, st.PreviewScene = ec.GetLayers(), ec.GetScene(), ec.GetPreviewScene()
	for _, sc := range d.Scenes.List {
		st.SceneNames = append(st.SceneNames, sc.Name)
	}
	for _, p := range d.Plugins {
		st.PluginList = append(st.PluginList, &pb.PluginSpec{Name: p.Name, Binary: p.Binary, Params: p.Params})
	}
	for _, f := range d.Filters {
		st.FilterList = append(st.FilterList, &pb.FilterEntry{Name: f.Name, Binary: f.Binary, Layer: f.Layer, Params: f.Params})
	}
	st.AudioSettings = audioSettings(d.Audio)
}

// WatchEvents streams status changes and log lines until the client leaves.
func (m *Master) WatchEvents(_ *pb.WatchRequest, stream pb.Control_WatchEventsServer) error {
	ctx := stream.Context()
	var lines chan string
	if m.logs != nil {
		recent, c, unsubscribe := m.logs.subscribe()
		defer unsubscribe()
		lines = c
		for _, l := range recent {
			if err := stream.Send(&pb.Event{UnixMs: time.Now().UnixMilli(), Log: l}); err != nil {
				return err
			}
		}
	}
	levels, unsubscribe := m.levels.Watch()
	defer unsubscribe()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last *pb.MasterStatus
	// sendStatus sends the status if it changed. It runs on the tick only:
	// a burst of log lines costs no status work.
	sendStatus := func() error {
		st, _ := m.Status(ctx, nil)
		if cmp := withoutClocks(st); last == nil || !proto.Equal(cmp, last) {
			last = cmp
			return stream.Send(&pb.Event{UnixMs: time.Now().UnixMilli(), Status: st})
		}
		return nil
	}
	if err := sendStatus(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case l := <-lines:
			if err := stream.Send(&pb.Event{UnixMs: time.Now().UnixMilli(), Log: l}); err != nil {
				return err
			}
		case l := <-levels:
			if err := stream.Send(&pb.Event{UnixMs: time.Now().UnixMilli(), AudioLevels: l}); err != nil {
				return err
			}
		case <-tick.C:
			if err := sendStatus(); err != nil {
				return err
			}
		}
	}
}

// withoutClocks drops what changes with every tick (uptimes, countdowns),
// so only real changes are sent.
func withoutClocks(st *pb.MasterStatus) *pb.MasterStatus {
	c := proto.Clone(st).(*pb.MasterStatus)
	for _, ch := range c.GetChildren() {
		ch.UptimeMs, ch.NextStartMs, ch.MemoryBytes = 0, 0, 0
	}
	for _, d := range c.GetDestinations() {
		d.NextAttemptMs = 0
	}
	for _, p := range c.GetPlugins() {
		p.NextStartMs = 0
	}
	return c
}
