package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"
)

// field is an entry with its check and the message under it, updated as the
// user types. A field says nothing until something was typed into it, so
// an empty new dialog is not a wall of red.
type field struct {
	label   string
	entry   *widget.Entry
	msg     *widget.Label
	check   func(string) error
	touched bool
	err     error
}

func newField(label string, e *widget.Entry, check func(string) error) *field {
	f := &field{label: label, entry: e, check: check}
	f.msg = errorLabel()
	return f
}

// errorLabel is a hidden, wrapping label for what went wrong.
func errorLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Importance = widget.DangerImportance
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return l
}

// validate runs the check and shows its message if the user has typed here.
func (f *field) validate() bool {
	f.err = nil
	if f.check != nil && !f.entry.Disabled() {
		f.err = f.check(f.entry.Text)
	}
	if f.err != nil && (f.touched || f.entry.Text != "") {
		f.msg.SetText(f.err.Error())
		f.msg.Show()
	} else {
		f.msg.Hide()
	}
	return f.err == nil
}

func (f *field) object() fyne.CanvasObject { return container.NewVBox(f.entry, f.msg) }

// form validates its fields together, since one field's rule may depend on
// another (a key makes a name required), and enables save only when all
// pass: nothing invalid can be sent.
type form struct {
	fields []*field
	save   *widget.Button
	extra  func() bool // checks outside the fields, e.g. selects
}

func (fm *form) add(f *field) *field {
	fm.fields = append(fm.fields, f)
	f.entry.OnChanged = func(string) {
		f.touched = true
		fm.validate()
	}
	return f
}

func (fm *form) validate() bool {
	ok := true
	for _, f := range fm.fields {
		if !f.validate() {
			ok = false
		}
	}
	if fm.extra != nil && !fm.extra() {
		ok = false
	}
	if fm.save != nil {
		if ok {
			fm.save.Enable()
		} else {
			fm.save.Disable()
		}
	}
	return ok
}

// showDialog shows content in a dialog of the studio's window, width wide,
// with the content's own buttons.
func (s *Studio) showDialog(title string, content fyne.CanvasObject, width float32) dialog.Dialog {
	d := dialog.NewCustomWithoutButtons(title, content, s.opt.Window)
	d.Resize(fyne.NewSize(width, 0))
	d.Show()
	return d
}

// grid lays out label / widget pairs.
func grid(objs ...fyne.CanvasObject) *fyne.Container {
	return container.New(layout.NewFormLayout(), objs...)
}

func bold(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}
