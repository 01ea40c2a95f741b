package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/onair-studio/onair/stub/pb"
)

const ctlPluginUsage = `usage: master ctl plugin COMMAND
  list                       each plugin: state, pid, restarts, version, parameters
  restart NAME               restart that plugin only (also out of 'failed')
  set NAME key=value...      change parameters live, checked first (all errors at once); saved
  add NAME [-binary FILE] [key=value...]
                             run another plugin (saved)
  rm NAME                    stop running a plugin (saved)`

// ctlPlugin lists and steers plugins.
func ctlPlugin(ctx context.Context, c pb.ControlClient, args []string, out io.Writer) error {
	usage := func(format string, a ...any) error {
		return usageError{fmt.Errorf(format+"\n%s", append(a, ctlPluginUsage)...)}
	}
	if len(args) == 0 || args[0] == "list" {
		st, err := c.Status(ctx, &pb.StatusRequest{})
		if err != nil {
			return err
		}
		printPlugins(out, st)
		return nil
	}
	if args[0] == "help" {
		fmt.Fprintln(out, ctlPluginUsage)
		return nil
	}
	if len(args) < 2 {
		return usage("plugin %s: name the plugin", args[0])
	}
	name := args[1]
	var st *pb.MasterStatus
	var err error
	switch args[0] {
	case "restart":
		st, err = c.RestartPlugin(ctx, &pb.PluginRequest{Name: name})
	case "set":
		params, perr := keyValues(args[2:])
		if perr != nil || len(params) == 0 {
			return usage("plugin set %s: want key=value...", name)
		}
		st, err = c.SetPluginParams(ctx, &pb.PluginParamsRequest{Name: name, Params: params})
	case "add":
		spec := &pb.PluginSpec{Name: name}
		rest := args[2:]
		if len(rest) >= 2 && rest[0] == "-binary" {
			spec.Binary, rest = rest[1], rest[2:]
		}
		if spec.Params, err = keyValues(rest); err != nil {
			return usage("plugin add %s: %v", name, err)
		}
		st, err = editPlugins(ctx, c, func(list []*pb.PluginSpec) ([]*pb.PluginSpec, error) {
			if slices.ContainsFunc(list, func(p *pb.PluginSpec) bool { return p.GetName() == name }) {
				return nil, fmt.Errorf("plugin %q is already in the list", name)
			}
			return append(list, spec), nil
		})
	case "rm":
		st, err = editPlugins(ctx, c, func(list []*pb.PluginSpec) ([]*pb.PluginSpec, error) {
			i := slices.IndexFunc(list, func(p *pb.PluginSpec) bool { return p.GetName() == name })
			if i < 0 {
				return nil, fmt.Errorf("no plugin %q in the list", name)
			}
			return slices.Delete(list, i, i+1), nil
		})
	default:
		return usage("unknown plugin command %q", args[0])
	}
	if err != nil {
		return err
	}
	printPlugins(out, st)
	return nil
}

// editPlugins reads the plugin list, changes it and sends it back whole.
func editPlugins(ctx context.Context, c pb.ControlClient, edit func([]*pb.PluginSpec) ([]*pb.PluginSpec, error)) (*pb.MasterStatus, error) {
	st, err := c.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		return nil, err
	}
	list, err := edit(slices.Clone(st.GetPluginList()))
	if err != nil {
		return nil, err
	}
	return c.SetPlugins(ctx, &pb.PluginList{Plugins: list})
}

// keyValues reads key=value arguments.
func keyValues(args []string) (map[string]string, error) {
	kv := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", a)
		}
		kv[k] = v
	}
	return kv, nil
}

func printPlugins(out io.Writer, st *pb.MasterStatus) {
	if len(st.GetPlugins()) == 0 {
		fmt.Fprintln(out, "no plugins")
		return
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSTATE\tPID\tRESTARTS\tVERSION\tPARAMETERS")
	for _, p := range st.GetPlugins() {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(p.GetParams())) {
			kv = append(kv, k+"="+p.GetParams()[k])
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\n", p.GetName(), p.GetState(), p.GetPid(), p.GetRestarts(),
			p.GetVersion(), strings.Join(kv, " "))
	}
	w.Flush()
	for _, p := range st.GetPlugins() {
		if p.GetError() != "" {
			fmt.Fprintf(out, "%s: %s\n", p.GetName(), p.GetError())
		}
	}
}
