package ui

import (
	"errors"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/onair-studio/onair/stub/pb"
	"github.com/onair-studio/onair/ui/validate"

	"github.com/onair-studio/onair/internal/limits"
)

// sourceKinds offer a template for each kind of source, to edit in place.
var sourceKinds = []struct{ label, template string }{
	{"Screen", "screen:0"},
	{"Region", "screen:0:0,0,640x360"},
	{"Window", "window:"},
	{"Test pattern", "pattern"},
	{"Image", "image:"},
	{"Colour", "color:#202020"},
	{"Media file", "file:"},
	{"Webcam", "webcam:{size=1280x720 fps=30 format=mjpeg}/dev/video0"},
}

// layerForm adds a source to the scene or edits one (index >= 0) and
// places it.
type layerForm struct {
	s       *Studio
	index   int
	kind    *widget.Select
	source  *field
	x, y    *field
	w, h    *field
	opacity *field
	form    form
	save    *widget.Button
	dlg     dialog.Dialog
	content fyne.CanvasObject
}

func newLayerForm(s *Studio, index int, l *pb.Layer) *layerForm {
	f := &layerForm{s: s, index: index}
	var labels []string
	for _, k := range sourceKinds {
		labels = append(labels, k.label)
	}
	num := func(label string, check func(string) error) *field {
		return f.form.add(newField(label, widget.NewEntry(), check))
	}
	f.source = f.form.add(newField("Source", widget.NewEntry(), func(v string) error {
		if v == "" || v == "auto" {
			return errNoSource
		}
		return validate.Source(v)
	}))
	f.x = num("X", validate.IntIn(-limits.MaxPictureSide, limits.MaxPictureSide, "px"))
	f.y = num("Y", validate.IntIn(-limits.MaxPictureSide, limits.MaxPictureSide, "px"))
	f.w = num("Width", validate.IntIn(0, limits.MaxPictureSide, "px (0: own size)"))
	f.h = num("Height", validate.IntIn(0, limits.MaxPictureSide, "px (0: own size)"))
	f.opacity = num("Opacity", func(v string) error {
		o, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || o < 0 || o > 1 {
			return errors.New("must be 0 to 1")
		}
		return nil
	})
	f.kind = widget.NewSelect(labels, func(label string) {
		for _, k := range sourceKinds {
			if k.label == label && kindOf(f.source.entry.Text) != label {
				f.source.entry.SetText(k.template)
			}
		}
	})
	if l == nil {
		l = &pb.Layer{Source: "screen:0", Opacity: 1}
	}
	f.source.entry.SetText(l.GetSource())
	f.x.entry.SetText(strconv.Itoa(int(l.GetX())))
	f.y.entry.SetText(strconv.Itoa(int(l.GetY())))
	f.w.entry.SetText(strconv.Itoa(int(l.GetWidth())))
	f.h.entry.SetText(strconv.Itoa(int(l.GetHeight())))
	f.opacity.entry.SetText(strconv.FormatFloat(l.GetOpacity(), 'g', 3, 64))
	f.kind.SetSelected(kindOf(l.GetSource()))

	f.save = widget.NewButton("Save", f.submit)
	f.save.Importance = widget.HighImportance
	f.form.save = f.save
	cancel := widget.NewButton("Cancel", func() { f.dlg.Hide() })
	f.content = container.NewVBox(grid(
		widget.NewLabel("Kind"), f.kind,
		widget.NewLabel("Source"), f.source.object(),
		widget.NewLabel("X, Y"), container.NewGridWithColumns(2, f.x.object(), f.y.object()),
		widget.NewLabel("Width, height"), container.NewGridWithColumns(2, f.w.object(), f.h.object()),
		widget.NewLabel("Opacity"), f.opacity.object(),
	), container.NewHBox(cancel, f.save))
	f.form.validate()
	return f
}

var errNoSource = errors.New("name a source, e.g. screen:0 or pattern")

// kindOf names the kind of a source string, for the select.
func kindOf(src string) string {
	kind, arg, _ := strings.Cut(src, ":")
	switch kind {
	case "screen":
		if strings.Count(arg, ":") == 1 {
			return "Region"
		}
		return "Screen"
	case "window":
		return "Window"
	case "pattern":
		return "Test pattern"
	case "image":
		return "Image"
	case "color":
		return "Colour"
	case "file":
		return "Media file"
	case "webcam":
		return "Webcam"
	}
	return ""
}

func (f *layerForm) layer() *pb.Layer {
	n := func(fl *field) int32 { v, _ := strconv.Atoi(strings.TrimSpace(fl.entry.Text)); return int32(v) }
	o, _ := strconv.ParseFloat(strings.TrimSpace(f.opacity.entry.Text), 64)
	return &pb.Layer{Source: strings.TrimSpace(f.source.entry.Text), X: n(f.x), Y: n(f.y), Width: n(f.w), Height: n(f.h), Opacity: o}
}

func (f *layerForm) submit() {
	if !f.form.validate() {
		return
	}
	layers := sceneLayers(f.s.status)
	if f.index >= 0 && f.index < len(layers) {
		layers[f.index] = f.layer()
		f.s.setScene("Edit source", layers)
	} else {
		f.s.setScene("Add source", append(layers, f.layer()))
	}
	f.dlg.Hide()
}

func (f *layerForm) show() {
	title := "Add source"
	if f.index >= 0 {
		title = "Edit source"
	}
	f.dlg = f.s.showDialog(title, f.content, 480)
}
