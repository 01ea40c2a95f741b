package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/onair-studio/onair/stub/pb"
	"github.com/onair-studio/onair/ui/validate"
)

// loadForm adds a plugin to the list by name (and binary, to run one plugin
// twice under two names).
type loadForm struct {
	s            *Studio
	name, binary *field
	form         form
	dlg          dialog.Dialog
	content      fyne.CanvasObject
}

func newLoadForm(s *Studio) *loadForm {
	f := &loadForm{s: s}
	var taken []string
	for _, p := range s.status.GetPluginList() {
		taken = append(taken, p.GetName())
	}
	f.name = f.form.add(newField("Name", widget.NewEntry(), func(v string) error { return validate.Name(v, false, taken) }))
	f.name.entry.SetPlaceHolder("clock")
	f.binary = f.form.add(newField("Binary", widget.NewEntry(), func(v string) error { return validate.Name(v, true, nil) }))
	f.binary.entry.SetPlaceHolder("blank: the name")
	save := widget.NewButton("Load", func() {
		if !f.form.validate() {
			return
		}
		list := append(pluginList(s.status), &pb.PluginSpec{
			Name: strings.TrimSpace(f.name.entry.Text), Binary: strings.TrimSpace(f.binary.entry.Text)})
		s.setPlugins("Load plugin", list)
		f.dlg.Hide()
	})
	save.Importance = widget.HighImportance
	f.form.save = save
	hint := widget.NewLabel("A binary in the plugins directory, listed in its manifest.")
	hint.Importance = widget.LowImportance
	f.content = container.NewVBox(grid(
		widget.NewLabel("Name"), f.name.object(),
		widget.NewLabel("Binary"), f.binary.object(),
	), hint, container.NewHBox(widget.NewButton("Cancel", func() { f.dlg.Hide() }), save))
	f.form.validate()
	return f
}

func (f *loadForm) show() {
	f.dlg = f.s.showDialog("Load plugin", f.content, 420)
}

// pluginForm edits a plugin's parameters from the schema it reports, each
// checked as the pluginhost will check it.
type pluginForm struct {
	s       *Studio
	name    string
	params  map[string]*field
	form    form
	dlg     dialog.Dialog
	content fyne.CanvasObject
}

func newPluginForm(s *Studio, name string) *pluginForm {
	f := &pluginForm{s: s, name: name}
	ps := pluginState(s.status, name)
	var desired map[string]string
	for _, p := range s.status.GetPluginList() {
		if p.GetName() == name {
			desired = p.GetParams()
		}
	}
	rows := grid()
	f.params = schemaFields(&f.form, rows, ps.GetSchema(), desired)
	save := widget.NewButton("Save", f.submit)
	save.Importance = widget.HighImportance
	f.form.save = save
	f.content = container.NewVBox(rows, container.NewHBox(widget.NewButton("Cancel", func() { f.dlg.Hide() }), save))
	f.form.validate()
	return f
}

// values are the parameters entered; blank ones take their defaults.
func (f *pluginForm) values() map[string]string { return filled(f.params) }

// schemaFields adds a checked field to fm and a row to rows for each
// parameter of a plugin's schema, showing its desired value.
func schemaFields(fm *form, rows *fyne.Container, schema []*pb.PluginParam, desired map[string]string) map[string]*field {
	fields := map[string]*field{}
	for _, prm := range schema {
		fl := fm.add(newField(prm.GetName(), widget.NewEntry(), func(v string) error { return validate.Param(prm, strings.TrimSpace(v)) }))
		fl.entry.SetPlaceHolder(prm.GetDefault())
		fl.entry.SetText(desired[prm.GetName()])
		fl.touched = false
		fields[prm.GetName()] = fl
		help := prm.GetType()
		if c := prm.GetChoices(); len(c) > 0 {
			help = strings.Join(c, " | ")
		}
		desc := widget.NewLabel(fmt.Sprintf("%s (%s)", prm.GetDescription(), help))
		desc.Importance = widget.LowImportance
		desc.Wrapping = fyne.TextWrapWord
		rows.Add(widget.NewLabel(prm.GetName()))
		rows.Add(container.NewVBox(fl.object(), desc))
	}
	return fields
}

// filled is the fields' values, trimmed; blank fields are left out.
func filled(fields map[string]*field) map[string]string {
	out := map[string]string{}
	for name, fl := range fields {
		if v := strings.TrimSpace(fl.entry.Text); v != "" {
			out[name] = v
		}
	}
	return out
}

func (f *pluginForm) submit() {
	if !f.form.validate() {
		return
	}
	list := pluginList(f.s.status)
	for _, p := range list {
		if p.GetName() == f.name {
			p.Params = f.values()
		}
	}
	f.s.setPlugins("Configure "+f.name, list)
	f.dlg.Hide()
}

func (f *pluginForm) show() {
	f.dlg = f.s.showDialog("Configure "+f.name, f.content, 520)
}
