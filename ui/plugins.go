package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/stub/pb"
)

// pluginsPanel lists the plugins the master should run with the state the
// pluginhost reports, and loads, unloads and configures them. Every change
// sends the whole list: the master makes the pluginhost match it.
type pluginsPanel struct {
	s       *Studio
	load    *widget.Button
	list    *fyne.Container
	rows    []*pluginRow
	content fyne.CanvasObject
}

type pluginRow struct {
	title, state, detail, errMsg *widget.Label
	configure, unload            *widget.Button
	box                          fyne.CanvasObject
}

func newPluginsPanel(s *Studio) *pluginsPanel {
	p := &pluginsPanel{s: s, list: container.NewVBox()}
	p.load = widget.NewButtonWithIcon("Load plugin", theme.ContentAddIcon(), func() { newLoadForm(s).show() })
	p.content = container.NewBorder(p.load, nil, nil, nil, container.NewVScroll(p.list))
	return p
}

// pluginList is the desired list, copied so edits never touch the status.
func pluginList(st *pb.MasterStatus) []*pb.PluginSpec {
	out := make([]*pb.PluginSpec, len(st.GetPluginList()))
	for i, p := range st.GetPluginList() {
		out[i] = proto.Clone(p).(*pb.PluginSpec)
	}
	return out
}

// pluginState finds what the pluginhost says about a plugin.
func pluginState(st *pb.MasterStatus, name string) *pb.PluginState {
	for _, ps := range st.GetPlugins() {
		if ps.GetName() == name {
			return ps
		}
	}
	return nil
}

func (p *pluginsPanel) update(st *pb.MasterStatus) {
	list := st.GetPluginList()
	if len(list) != len(p.rows) {
		p.rows = p.rows[:0]
		p.list.RemoveAll()
		for i := range list {
			r := p.newRow(i)
			p.rows = append(p.rows, r)
			p.list.Add(r.box)
		}
	}
	for i, spec := range list {
		p.rows[i].set(spec, pluginState(st, spec.GetName()))
	}
}

func (p *pluginsPanel) newRow(i int) *pluginRow {
	r := &pluginRow{title: bold(""), state: widget.NewLabel(""), detail: widget.NewLabel(""), errMsg: errorLabel()} // errMsg is shown by set
	r.detail.Wrapping = fyne.TextWrapWord
	r.configure = widget.NewButtonWithIcon("Configure", theme.SettingsIcon(), func() {
		if l := p.s.status.GetPluginList(); i < len(l) {
			newPluginForm(p.s, l[i].GetName()).show()
		}
	})
	r.unload = widget.NewButtonWithIcon("Unload", theme.DeleteIcon(), func() {
		list := pluginList(p.s.status)
		if i < len(list) {
			p.s.setPlugins("Unload plugin", append(list[:i], list[i+1:]...))
		}
	})
	r.box = container.NewVBox(container.NewBorder(nil, nil, r.title, r.state), r.detail, r.errMsg,
		container.NewHBox(r.configure, r.unload), widget.NewSeparator())
	return r
}

func (r *pluginRow) set(spec *pb.PluginSpec, ps *pb.PluginState) {
	title := spec.GetName()
	if b := spec.GetBinary(); b != "" && b != title {
		title += " (" + b + ")"
	}
	r.title.SetText(title)
	state := ps.GetState()
	if state == "" {
		state = "waiting for the pluginhost"
	}
	r.state.SetText(state)
	r.state.Importance = stateImportance(ps.GetState())
	r.state.Refresh()
	r.detail.SetText(fmt.Sprintf("%s %s — pid %d, %d restarts, %d overlays", ps.GetKind(), ps.GetVersion(),
		ps.GetPid(), ps.GetRestarts(), ps.GetFrames()))
	if e := ps.GetError(); e != "" {
		r.errMsg.SetText(e)
		r.errMsg.Show()
	} else {
		r.errMsg.Hide()
	}
	if len(ps.GetSchema()) > 0 {
		r.configure.Enable()
	} else {
		r.configure.Disable()
	}
}

func (s *Studio) setPlugins(what string, list []*pb.PluginSpec) {
	s.call(what, func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
		return c.SetPlugins(ctx, &pb.PluginList{Plugins: list})
	}, nil)
}
