package master

import (
	"context"
	"maps"
	"slices"
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
	var current map[string]string
	var names []string
	for _, p := range m.state.Get().Plugins {
		names = append(names, p.Name)
		if p.Name == name {
			current = p.Params
		}
	}
	if err := m.checkParams(ctx, "plugin", name, names, current, given); err != nil {
		return nil, err
	}
	set := func(list []config.Plugin) []config.Plugin {
		out := slices.Clone(list)
		for i, p := range out {
			if p.Name == name {
				out[i].Params = withParams(p.Params, given)
			}
		}
		return out
	}
	return m.change(ctx, func(d *state.Desired) { d.Plugins = set(d.Plugins) },
		func(c *config.Config) { c.Plugins.List = set(c.Plugins.List) })
}

// SetFilterParams is SetPluginParams for a filter of the filter list.
func (m *Master) SetFilterParams(ctx context.Context, req *pb.PluginParamsRequest) (*pb.MasterStatus, error) {
	name, given := req.GetName(), req.GetParams()
	var current map[string]string
	var names []string
	for _, f := range m.state.Get().Filters {
		names = append(names, f.Name)
		if f.Name == name {
			current = f.Params
		}
	}
	if err := m.checkParams(ctx, "filter", name, names, current, given); err != nil {
		return nil, err
	}
	set := func(list []config.Filter) []config.Filter {
		out := slices.Clone(list)
		for i, f := range out {
			if f.Name == name {
				out[i].Params = withParams(f.Params, given)
			}
		}
		return out
	}
	return m.change(ctx, func(d *state.Desired) { d.Filters = set(d.Filters) },
		func(c *config.Config) { c.Filters = set(c.Filters) })
}

// checkParams refuses a live parameter change that the plugin's schema
// would refuse, every error at once, before anything changes. what is
// "plugin" or "filter"; names are those listed, for the not-found error.
func (m *Master) checkParams(ctx context.Context, what, name string, names []string, current, given map[string]string) error {
	if len(given) == 0 {
		return status.Error(codes.InvalidArgument, "no parameters given (want key=value)")
	}
	if !slices.Contains(names, name) {
		return status.Errorf(codes.NotFound, "no %s %q in the %s list (listed: %s)", what, name, what, strings.Join(names, ", "))
	}
	schema, known := m.pluginSchema(ctx, name)
	if !known {
		return status.Errorf(codes.FailedPrecondition,
			"%s %s has not started yet, so its parameters cannot be checked; see 'ctl %s list'", what, name, what)
	}
	if _, err := sdk.Resolve(schema, withParams(current, given)); err != nil {
		return status.Errorf(codes.InvalidArgument, "%s %s: %v", what, name, err)
	}
	return nil
}

// withParams is params with given's values over them, in a new map.
func withParams(params, given map[string]string) map[string]string {
	out := maps.Clone(params)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, given)
	return out
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
