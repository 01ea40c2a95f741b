package ui

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/stub/pb"
	"github.com/onair-studio/onair/ui/validate"
)

// filterList is the desired filter list, copied so edits never touch the
// status. Every change sends the whole list, as SetFilters wants.
func filterList(st *pb.MasterStatus) []*pb.FilterEntry {
	out := make([]*pb.FilterEntry, len(st.GetFilterList()))
	for i, f := range st.GetFilterList() {
		out[i] = proto.Clone(f).(*pb.FilterEntry)
	}
	return out
}

func (s *Studio) setFilters(what string, list []*pb.FilterEntry, done func(error)) {
	s.call(what, func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
		return c.SetFilters(ctx, &pb.FilterList{Filters: list})
	}, done)
}

// filterButtons steer one filter from the panel.
type filterButtons struct {
	up, down, params, remove *widget.Button
}

// filterControls are a layer's filters (layer "" is the program, "sound:X"
// a sound source) with buttons to reorder, set up and remove each, and one
// to add a filter. Buttons read the status when clicked, so a row built
// from an older status still edits the current list.
func filterControls(s *Studio, layer string, buttons map[string]*filterButtons, adds map[string]*widget.Button) fyne.CanvasObject {
	box := container.NewVBox()
	var names []string
	for _, f := range s.status.GetFilterList() {
		if f.GetLayer() == layer {
			names = append(names, f.GetName())
		}
	}
	for i, name := range names {
		b := &filterButtons{
			up:     widget.NewButtonWithIcon("", theme.MoveUpIcon(), func() { moveFilter(s, name, -1) }),
			down:   widget.NewButtonWithIcon("", theme.MoveDownIcon(), func() { moveFilter(s, name, +1) }),
			params: widget.NewButtonWithIcon("Params", theme.SettingsIcon(), func() { newFilterParamsForm(s, name).show() }),
			remove: widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { removeFilter(s, name) }),
		}
		if i == 0 {
			b.up.Disable()
		}
		if i == len(names)-1 {
			b.down.Disable()
		}
		buttons[name] = b
		box.Add(container.NewHBox(widget.NewLabel(name), b.up, b.down, b.params, b.remove))
	}
	add := widget.NewButtonWithIcon("Add filter", theme.ContentAddIcon(), func() { newFilterForm(s, layer).show() })
	adds[layer] = add
	box.Add(add)
	return box
}

// moveFilter swaps a filter with its neighbour on the same layer (step -1:
// the one applied before it, +1: after it); filters of other layers keep
// their places.
func moveFilter(s *Studio, name string, step int) {
	list := filterList(s.status)
	i := slices.IndexFunc(list, func(f *pb.FilterEntry) bool { return f.GetName() == name })
	if i < 0 {
		return
	}
	for j := i + step; j >= 0 && j < len(list); j += step {
		if list[j].GetLayer() == list[i].GetLayer() {
			list[i], list[j] = list[j], list[i]
			s.setFilters("Reorder filters", list, nil)
			return
		}
	}
}

func removeFilter(s *Studio, name string) {
	list := slices.DeleteFunc(filterList(s.status), func(f *pb.FilterEntry) bool { return f.GetName() == name })
	s.setFilters("Remove filter "+name, list, nil)
}

// filterForm adds a filter to a layer by name and plugin binary. The
// dialog stays open with the master's reason when the master refuses.
type filterForm struct {
	s            *Studio
	layer        string
	name, binary *field
	refused      *widget.Label
	form         form
	dlg          dialog.Dialog
	content      fyne.CanvasObject
}

func newFilterForm(s *Studio, layer string) *filterForm {
	f := &filterForm{s: s, layer: layer, refused: errorLabel()}
	var taken []string
	for _, e := range s.status.GetFilterList() {
		taken = append(taken, e.GetName())
	}
	f.name = f.form.add(newField("Name", widget.NewEntry(), func(v string) error { return validate.Name(v, false, taken) }))
	f.name.entry.SetPlaceHolder("key")
	f.binary = f.form.add(newField("Binary", widget.NewEntry(), func(v string) error { return validate.Name(v, true, nil) }))
	f.binary.entry.SetPlaceHolder("blank: the name")
	save := widget.NewButton("Add", f.submit)
	save.Importance = widget.HighImportance
	f.form.save = save
	hint := "A filter plugin's binary in the plugins directory."
	if known := filterBinaries(s.status); len(known) > 0 {
		hint += " In use: " + strings.Join(known, ", ") + "."
	}
	note := widget.NewLabel(hint)
	note.Importance = widget.LowImportance
	note.Wrapping = fyne.TextWrapWord
	f.content = container.NewVBox(grid(
		widget.NewLabel("Name"), f.name.object(),
		widget.NewLabel("Binary"), f.binary.object(),
	), note, f.refused, container.NewHBox(widget.NewButton("Cancel", func() { f.dlg.Hide() }), save))
	f.form.validate()
	return f
}

// filterBinaries are the filter plugins the status shows running, as a
// hint of what is installed.
func filterBinaries(st *pb.MasterStatus) []string {
	var out []string
	for _, p := range st.GetPlugins() {
		if strings.Contains(p.GetKind(), "filter") && p.GetBinary() != "" && !slices.Contains(out, p.GetBinary()) {
			out = append(out, p.GetBinary())
		}
	}
	return out
}

func (f *filterForm) submit() {
	if !f.form.validate() {
		return
	}
	entry := &pb.FilterEntry{Name: strings.TrimSpace(f.name.entry.Text), Binary: strings.TrimSpace(f.binary.entry.Text), Layer: f.layer}
	f.s.setFilters("Add filter", append(filterList(f.s.status), entry), f.closeOrSay)
}

func (f *filterForm) closeOrSay(err error) { closeOrSay(f.dlg, f.refused, err) }

// closeOrSay hides a dialog after the master took its change, or shows the
// master's reason in it.
func closeOrSay(d dialog.Dialog, refused *widget.Label, err error) {
	if err != nil {
		refused.SetText(errText(err))
		refused.Show()
		return
	}
	if d != nil {
		d.Hide()
	}
}

func (f *filterForm) show() {
	title := "Add a filter to the program"
	if f.layer != "" {
		title = "Add a filter to " + f.layer
	}
	f.dlg = f.s.showDialog(title, f.content, 420)
}

// filterParamsForm changes a filter's parameters live. With its plugin's
// schema in the status each parameter has a field checked as the plugin
// host checks it; without one (the plugin is not running) the parameters
// are typed as name=value lines.
type filterParamsForm struct {
	s       *Studio
	name    string
	params  map[string]*field
	lines   *field
	refused *widget.Label
	form    form
	dlg     dialog.Dialog
	content fyne.CanvasObject
}

func newFilterParamsForm(s *Studio, name string) *filterParamsForm {
	f := &filterParamsForm{s: s, name: name, refused: errorLabel()}
	var desired map[string]string
	for _, e := range s.status.GetFilterList() {
		if e.GetName() == name {
			desired = e.GetParams()
		}
	}
	rows := grid()
	schema := pluginState(s.status, name).GetSchema()
	f.params = schemaFields(&f.form, rows, schema, desired)
	if len(schema) > 0 {
		f.form.extra = func() bool { return len(f.values()) > 0 } // nothing to change: nothing to send
	} else {
		f.lines = f.form.add(newField("Parameters", widget.NewMultiLineEntry(), func(v string) error {
			_, err := paramLines(v)
			return err
		}))
		var text []string
		for _, k := range slices.Sorted(maps.Keys(desired)) {
			text = append(text, k+"="+desired[k])
		}
		f.lines.entry.SetText(strings.Join(text, "\n"))
		f.lines.entry.SetPlaceHolder("name=value, one a line")
		f.lines.touched = false
		rows.Add(widget.NewLabel("Parameters"))
		rows.Add(f.lines.object())
	}
	save := widget.NewButton("Save", f.submit)
	save.Importance = widget.HighImportance
	f.form.save = save
	f.content = container.NewVBox(rows, f.refused, container.NewHBox(widget.NewButton("Cancel", func() { f.dlg.Hide() }), save))
	f.form.validate()
	return f
}

// paramLines reads name=value lines; blank lines are skipped.
func paramLines(text string) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("line %d: want name=value, got %q", i+1, line)
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil, errNoParams
	}
	return out, nil
}

var errNoParams = errors.New("set at least one parameter")

// values are the parameters to change; blank fields are left as they are.
func (f *filterParamsForm) values() map[string]string {
	if f.lines != nil {
		out, _ := paramLines(f.lines.entry.Text)
		return out
	}
	return filled(f.params)
}

func (f *filterParamsForm) submit() {
	if !f.form.validate() {
		return
	}
	req := &pb.PluginParamsRequest{Name: f.name, Params: f.values()}
	f.s.call("Set "+f.name, func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
		return c.SetFilterParams(ctx, req)
	}, func(err error) { closeOrSay(f.dlg, f.refused, err) })
}

func (f *filterParamsForm) show() {
	f.dlg = f.s.showDialog("Filter "+f.name, f.content, 520)
}
