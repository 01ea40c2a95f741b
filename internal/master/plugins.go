package master

import (
	"context"
	"maps"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/state"
	"github.com/onair-studio/onair/plugins/sdk"
	"github.com/onair-studio/onair/stub/pb"
)

// RestartPlugin restarts one plugin; the pluginhost and the other plugins
// go on.
func (m *Master) RestartPlugin(ctx context.Context, req *pb.PluginRequest) (*pb.MasterStatus, error) {
	c, ok := m.pluginsClient()
	if !ok {
		return nil, status.Error(codes.Unavailable, "the pluginhost is not running")
	}
	if _, err := c.RestartPlugin(ctx, req); err != nil {
		return nil, err
	}
	return m.Status(ctx, nil)
}

// SetPluginParams changes some parameters of one plugin, live. The values
// are checked with the rule the pluginhost applies (sdk.Resolve) against the
// schema the running plugin declared, every error at once, before anything
// changes; then the plugin is re-configured without a restart and the list
// is saved.
func (m *Master) SetPluginParams(ctx context.Context, req *pb.PluginParamsRequest) (*pb.MasterStatus, error) {
	name, given := req.GetName(), req.GetParams()
	if len(given) == 0 {
		return nil, status.Error(codes.InvalidArgument, "no parameters given (want key=value)")
	}
	var current *config.Plugin
	var names []string
	for _, p := range m.state.Get().Plugins {
		names = append(names, p.Name)
		if p.Name == name {
			current = &p
		}
	}
	if current == nil {
		return nil, status.Errorf(codes.NotFound, "no plugin %q in the plugin list (listed: %s)", name, strings.Join(names, ", "))
	}
	merged := maps.Clone(current.Params)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, given)
	schema, known := m.pluginSchema(ctx, name)
	if !known {
		return nil, status.Errorf(codes.FailedPrecondition,
			"plugin %s has not started yet, so its parameters cannot be checked; see 'ctl plugin list'", name)
	}
	if _, err := sdk.Resolve(schema, merged); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "plugin %s: %v", name, err)
	}
	set := func(list []config.Plugin) []config.Plugin {
		out := make([]config.Plugin, len(list))
		for i, p := range list {
			if p.Name == name {
				p.Params = maps.Clone(p.Params)
				if p.Params == nil {
					p.Params = map[string]string{}
				}
				maps.Copy(p.Params, given)
			}
			out[i] = p
		}
		return out
	}
	return m.change(ctx, func(d *state.Desired) { d.Plugins = set(d.Plugins) },
		func(c *config.Config) { c.Plugins.List = set(c.Plugins.List) })
}

// pluginSchema is the parameter schema the named plugin declared when it
// last started, asked of the pluginhost.
func (m *Master) pluginSchema(ctx context.Context, name string) ([]sdk.Param, bool) {
	c, ok := m.pluginsClient()
	if !ok {
		return nil, false
	}
	st, err := c.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		return nil, false
	}
	for _, p := range st.GetPlugins() {
		if p.GetName() == name && p.GetKind() != "" {
			return sdk.InfoFromProto(&pb.PluginInfo{Params: p.GetSchema()}).Params, true
		}
	}
	return nil, false
}
