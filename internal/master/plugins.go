package master

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/state"
	"github.com/onair-studio/onair/plugins/sdk"
	"github.com/onair-studio/onair/stub"
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
	before, err := m.checkParams(ctx, "plugin", name, names, current, given)
	if err != nil {
		return nil, err
	}
	set := func(params map[string]string) (*pb.MasterStatus, error) {
		put := func(list []config.Plugin) []config.Plugin {
			out := slices.Clone(list)
			for i, p := range out {
				if p.Name == name {
					out[i].Params = params
				}
			}
			return out
		}
		return m.change(ctx, func(d *state.Desired) { d.Plugins = put(d.Plugins) },
			func(c *config.Config) { c.Plugins.List = put(c.Plugins.List) })
	}
	return m.setConfirmed(ctx, name, before, current, withParams(current, given), set)
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
	before, err := m.checkParams(ctx, "filter", name, names, current, given)
	if err != nil {
		return nil, err
	}
	set := func(params map[string]string) (*pb.MasterStatus, error) {
		put := func(list []config.Filter) []config.Filter {
			out := slices.Clone(list)
			for i, f := range out {
				if f.Name == name {
					out[i].Params = params
				}
			}
			return out
		}
		return m.change(ctx, func(d *state.Desired) { d.Filters = put(d.Filters) },
			func(c *config.Config) { c.Filters = put(c.Filters) })
	}
	return m.setConfirmed(ctx, name, before, current, withParams(current, given), set)
}

// setConfirmed applies next with set and waits until the plugin took or
// refused it. A plugin that refuses values its schema allows (a file that
// does not open) keeps running on its previous ones; then the previous
// values are put back in the desired state and the config, and the
// refusal is the error.
func (m *Master) setConfirmed(ctx context.Context, name string, configures uint64, prev, next map[string]string,
	set func(map[string]string) (*pb.MasterStatus, error)) (*pb.MasterStatus, error) {
	st, err := set(next)
	if err != nil || maps.Equal(prev, next) {
		return st, err // nothing new for the plugin to answer
	}
	refusal := m.awaitConfigure(ctx, name, configures)
	if refusal == "" {
		return st, nil
	}
	if _, err := set(prev); err != nil {
		return nil, status.Errorf(codes.Internal, "%s; putting the previous values back failed: %v", refusal, err)
	}
	return nil, status.Error(codes.InvalidArgument, refusal)
}

// awaitConfigure waits (up to confirmWait) for the pluginhost to configure
// the named plugin past the given count, and returns its refusal, or ""
// when it took the values (or nothing could be learnt in time).
func (m *Master) awaitConfigure(ctx context.Context, name string, configures uint64) string {
	c, ok := m.pluginsClient()
	if !ok {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, confirmWait)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if st, err := c.Status(ctx, &pb.StatusRequest{}); err == nil {
			for _, p := range st.GetPlugins() {
				if p.GetName() != name || p.GetConfigures() <= configures {
					continue
				}
				if _, why, refused := strings.Cut(p.GetError(), stub.ParamsRefused); refused {
					return fmt.Sprintf("%s refused the values, which stay as they were: %s", name, why)
				}
				return ""
			}
		}
		select {
		case <-ctx.Done():
			return ""
		case <-tick.C:
		}
	}
}

// confirmWait bounds the wait for a plugin's answer to new parameters: its
// Configure has 2 s.
const confirmWait = 3 * time.Second

// checkParams refuses a live parameter change that the plugin's schema
// would refuse, every error at once, before anything changes. what is
// "plugin" or "filter"; names are those listed, for the not-found error.
// It returns how many Configure calls the plugin has had so far.
func (m *Master) checkParams(ctx context.Context, what, name string, names []string, current, given map[string]string) (uint64, error) {
	if len(given) == 0 {
		return 0, status.Error(codes.InvalidArgument, "no parameters given (want key=value)")
	}
	if !slices.Contains(names, name) {
		return 0, status.Errorf(codes.NotFound, "no %s %q in the %s list (listed: %s)", what, name, what, strings.Join(names, ", "))
	}
	schema, configures, known := m.pluginSchema(ctx, name)
	if !known {
		return 0, status.Errorf(codes.FailedPrecondition,
			"%s %s has not started yet, so its parameters cannot be checked; see 'ctl %s list'", what, name, what)
	}
	if _, err := sdk.Resolve(schema, withParams(current, given)); err != nil {
		return 0, status.Errorf(codes.InvalidArgument, "%s %s: %v", what, name, err)
	}
	return configures, nil
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
// last started, and its Configure calls so far, asked of the pluginhost.
func (m *Master) pluginSchema(ctx context.Context, name string) ([]sdk.Param, uint64, bool) {
	c, ok := m.pluginsClient()
	if !ok {
		return nil, 0, false
	}
	st, err := c.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		return nil, 0, false
	}
	for _, p := range st.GetPlugins() {
		if p.GetName() == name && p.GetKind() != "" {
			return sdk.InfoFromProto(&pb.PluginInfo{Params: p.GetSchema()}).Params, p.GetConfigures(), true
		}
	}
	return nil, 0, false
}
