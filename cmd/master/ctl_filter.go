package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/onair-studio/onair/stub/pb"
)

const ctlFilterUsage = `usage: master ctl filter COMMAND
  list                       each filter: layer, plugin state, frames filtered, late and bypassed
  add NAME [-binary FILE] [-layer LAYER] [key=value...]
                             filter a layer (by name), a sound source (-layer sound:mic),
                             or without -layer the program (saved)
  rm NAME                    remove a filter (saved)
  move NAME POS              put a filter at position POS (1 = first applied) (saved)
  set NAME key=value...      change parameters live, checked first (all errors at once); saved`

// ctlFilter lists and steers the filters.
func ctlFilter(ctx context.Context, c pb.ControlClient, args []string, out io.Writer) error {
	usage := func(format string, a ...any) error {
		return usageError{fmt.Errorf(format+"\n%s", append(a, ctlFilterUsage)...)}
	}
	if len(args) == 0 || args[0] == "list" {
		st, err := c.Status(ctx, &pb.StatusRequest{})
		if err != nil {
			return err
		}
		printFilters(out, st)
		return nil
	}
	if args[0] == "help" {
		fmt.Fprintln(out, ctlFilterUsage)
		return nil
	}
	if len(args) < 2 {
		return usage("filter %s: name the filter", args[0])
	}
	name := args[1]
	find := func(list []*pb.FilterEntry) int {
		return slices.IndexFunc(list, func(f *pb.FilterEntry) bool { return f.GetName() == name })
	}
	var st *pb.MasterStatus
	var err error
	switch args[0] {
	case "set":
		params, perr := keyValues(args[2:])
		if perr != nil || len(params) == 0 {
			return usage("filter set %s: want key=value...", name)
		}
		st, err = c.SetFilterParams(ctx, &pb.PluginParamsRequest{Name: name, Params: params})
	case "add":
		f := &pb.FilterEntry{Name: name}
		rest := args[2:]
		for len(rest) >= 2 && (rest[0] == "-binary" || rest[0] == "-layer") {
			if rest[0] == "-binary" {
				f.Binary = rest[1]
			} else {
				f.Layer = rest[1]
			}
			rest = rest[2:]
		}
		if f.Params, err = keyValues(rest); err != nil {
			return usage("filter add %s: %v", name, err)
		}
		st, err = editFilters(ctx, c, func(list []*pb.FilterEntry) ([]*pb.FilterEntry, error) {
			if find(list) >= 0 {
				return nil, fmt.Errorf("filter %q is already in the list", name)
			}
			return append(list, f), nil
		})
	case "rm":
		st, err = editFilters(ctx, c, func(list []*pb.FilterEntry) ([]*pb.FilterEntry, error) {
			i := find(list)
			if i < 0 {
				return nil, fmt.Errorf("no filter %q in the list", name)
			}
			return slices.Delete(list, i, i+1), nil
		})
	case "move":
		if len(args) != 3 {
			return usage("filter move %s: want a position", name)
		}
		pos, perr := strconv.Atoi(args[2])
		st, err = editFilters(ctx, c, func(list []*pb.FilterEntry) ([]*pb.FilterEntry, error) {
			i := find(list)
			switch {
			case i < 0:
				return nil, fmt.Errorf("no filter %q in the list", name)
			case perr != nil || pos < 1 || pos > len(list):
				return nil, fmt.Errorf("position %q: want 1..%d", args[2], len(list))
			}
			f := list[i]
			return slices.Insert(slices.Delete(list, i, i+1), pos-1, f), nil
		})
	default:
		return usage("unknown filter command %q", args[0])
	}
	if err != nil {
		return err
	}
	printFilters(out, st)
	return nil
}

// editFilters reads the filter list, changes it and sends it back whole.
func editFilters(ctx context.Context, c pb.ControlClient, edit func([]*pb.FilterEntry) ([]*pb.FilterEntry, error)) (*pb.MasterStatus, error) {
	st, err := c.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		return nil, err
	}
	list, err := edit(slices.Clone(st.GetFilterList()))
	if err != nil {
		return nil, err
	}
	return c.SetFilters(ctx, &pb.FilterList{Filters: list})
}

func printFilters(out io.Writer, st *pb.MasterStatus) {
	if len(st.GetFilterList()) == 0 {
		fmt.Fprintln(out, "no filters")
		return
	}
	counts := map[string]*pb.FilterStatus{}
	for _, f := range st.GetEncoder().GetFilters() {
		counts[f.GetName()] = f
	}
	states := map[string]*pb.PluginState{}
	for _, p := range st.GetPlugins() {
		states[p.GetName()] = p
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tLAYER\tSTATE\tATTACHED\tFILTERED\tLATE\tBYPASSED\tPARAMETERS")
	for _, f := range st.GetFilterList() {
		layer := f.GetLayer()
		if layer == "" {
			layer = "(program)"
		}
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(f.GetParams())) {
			kv = append(kv, k+"="+f.GetParams()[k])
		}
		n := counts[f.GetName()]
		fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%d\t%d\t%d\t%s\n", f.GetName(), layer, states[f.GetName()].GetState(),
			n.GetAttached(), n.GetFiltered(), n.GetLate(), n.GetBypassed(), strings.Join(kv, " "))
	}
	w.Flush()
	for _, f := range st.GetFilterList() {
		if e := states[f.GetName()].GetError(); e != "" {
			fmt.Fprintf(out, "%s: %s\n", f.GetName(), e)
		} else if e := counts[f.GetName()].GetError(); e != "" {
			fmt.Fprintf(out, "%s: %s\n", f.GetName(), e)
		}
	}
}
