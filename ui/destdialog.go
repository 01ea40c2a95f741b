package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/onair-studio/onair/internal/output"
	"github.com/onair-studio/onair/stub/pb"
	"github.com/onair-studio/onair/ui/validate"
)

// services are the presets, in the order the dialog offers them.
var services = []string{"twitch", "youtube", "facebook", "custom"}

// destForm adds a destination, or edits one (index >= 0). The key entry is
// a password entry: it never shows the key, and an edit never shows the
// stored one.
type destForm struct {
	s       *Studio
	index   int
	orig    destOrig
	service *widget.Select
	server  *widget.Label
	name    *field
	url     *field
	key     *field
	rend    *field
	form    form
	errMsg  *widget.Label
	save    *widget.Button
	cancel  *widget.Button
	dlg     dialog.Dialog
	content fyne.CanvasObject
}

// destOrig is what an edited destination looked like.
type destOrig struct {
	name, service, url, rendition string
	hasKey                        bool // it was shown with a masked key
}

func newDestForm(s *Studio, index int) *destForm {
	f := &destForm{s: s, index: index}
	var taken []string
	for i, d := range s.status.GetDestinations() {
		if i != index && d.GetName() != "" {
			taken = append(taken, d.GetName())
		}
	}
	if index >= 0 {
		d := s.status.GetDestinations()[index]
		f.orig = destOrig{name: d.GetName(), service: serviceOf(d.GetUrl()), url: serverOf(d.GetUrl()),
			rendition: d.GetRendition(), hasKey: strings.HasSuffix(d.GetUrl(), "****")}
	}

	f.server = widget.NewLabel("")
	f.server.Wrapping = fyne.TextWrapBreak
	f.service = widget.NewSelect(services, func(string) { f.serviceChanged() })
	f.name = f.form.add(newField("Name", widget.NewEntry(), func(v string) error {
		return validate.Name(v, f.nameOptional(), taken)
	}))
	f.name.entry.SetPlaceHolder("main")
	f.url = f.form.add(newField("Server URL", widget.NewEntry(), func(v string) error {
		return validate.ServerURL(v, f.key.entry.Text != "" || f.keepsKey())
	}))
	f.url.entry.SetPlaceHolder("rtmp://ingest.example.com/live, srt://host:port, whip+https://host/whip")
	f.key = f.form.add(newField("Stream key", widget.NewPasswordEntry(), func(v string) error {
		return validate.Key(v, f.service.Selected, !f.keepsKey())
	}))
	f.rend = f.form.add(newField("Rendition", widget.NewEntry(), func(v string) error {
		return validate.Name(v, true, nil)
	}))
	f.rend.entry.SetPlaceHolder("blank: the program")

	f.errMsg = errorLabel()
	f.save = widget.NewButton("Save", f.submit)
	f.save.Importance = widget.HighImportance
	f.cancel = widget.NewButton("Cancel", func() { f.close() })
	f.form.save = f.save

	f.name.entry.SetText(f.orig.name)
	f.url.entry.SetText(f.orig.url)
	f.rend.entry.SetText(f.orig.rendition)
	if f.index >= 0 {
		f.key.entry.SetPlaceHolder("unchanged")
	}
	f.name.touched, f.url.touched, f.key.touched, f.rend.touched = false, false, false, false
	f.service.SetSelected(firstNonEmpty(f.orig.service, "twitch"))

	rows := grid(
		widget.NewLabel("Service"), f.service,
		widget.NewLabel("Server"), container.NewVBox(f.server, f.url.object()),
		widget.NewLabel("Stream key"), f.key.object(),
		widget.NewLabel("Name"), f.name.object(),
		widget.NewLabel("Rendition"), f.rend.object(),
	)
	f.content = container.NewVBox(rows, f.errMsg, container.NewHBox(f.cancel, f.save))
	f.form.validate()
	return f
}

// keepsKey: an edited destination may keep the key it has: a stored one
// (the master moves it along when the name changes), or one written in the
// config file or the URL (the master keeps it when the server is unchanged).
func (f *destForm) keepsKey() bool {
	named := strings.TrimSpace(f.name.entry.Text) != ""
	return f.index >= 0 && (f.orig.name != "" && named || f.orig.hasKey && f.orig.name == "")
}

// A stored key is filed under the name, so a key needs one; so does a
// platform preset, which always has a key.
func (f *destForm) nameOptional() bool {
	return f.service.Selected == "custom" && f.key.entry.Text == ""
}

func (f *destForm) serviceChanged() {
	if srv, ok := output.Services[f.service.Selected]; ok {
		f.server.SetText(srv)
		f.server.Show()
		f.url.entry.Disable()
		f.url.entry.Hide()
	} else {
		f.server.Hide()
		f.url.entry.Enable()
		f.url.entry.Show()
	}
	f.form.validate()
}

// spec is the destination as entered.
func (f *destForm) spec() *pb.DestinationSpec {
	sp := &pb.DestinationSpec{
		Name:      strings.TrimSpace(f.name.entry.Text),
		Service:   f.service.Selected,
		Key:       f.key.entry.Text,
		Rendition: strings.TrimSpace(f.rend.entry.Text),
	}
	if sp.Service == "custom" {
		sp.Url = strings.TrimSpace(f.url.entry.Text)
	}
	return sp
}

func (f *destForm) submit() {
	for _, fl := range f.form.fields {
		fl.touched = true
	}
	if !f.form.validate() {
		return
	}
	sp, index := f.spec(), f.index
	unchanged := index >= 0 && sp.Name == f.orig.name && sp.Service == f.orig.service &&
		(sp.Service != "custom" || sp.Url == f.orig.url) && sp.Rendition == f.orig.rendition
	if unchanged && sp.Key == "" {
		f.close() // nothing changed
		return
	}
	f.save.Disable()
	what := "Add destination"
	if index >= 0 {
		what = "Edit destination"
	}
	f.s.call(what, func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
		switch {
		case index < 0:
			return c.AddDestination(ctx, sp)
		case unchanged && sp.Name != "":
			return c.SetStreamKey(ctx, &pb.StreamKeyRequest{Name: sp.Name, Key: sp.Key})
		}
		return c.UpdateDestination(ctx, &pb.DestinationUpdate{Index: int32(index), Spec: sp})
	}, func(err error) {
		if err != nil {
			f.errMsg.SetText(errText(err))
			f.errMsg.Show()
			f.form.validate()
			return
		}
		f.close()
	})
}

func (f *destForm) show() {
	title := "Add destination"
	if f.index >= 0 {
		title = "Edit destination"
	}
	f.dlg = f.s.showDialog(title, f.content, 520)
}

func (f *destForm) close() {
	if f.dlg != nil {
		f.dlg.Hide()
	}
}

// serviceOf finds the preset whose server a (masked) URL starts with.
func serviceOf(url string) string {
	for name, srv := range output.Services {
		if strings.HasPrefix(url, srv) {
			return name
		}
	}
	return "custom"
}

// serverOf drops the masked key from a custom URL, leaving the server to
// edit; a URL whose key was masked cannot be sent back as it is.
func serverOf(url string) string {
	if serviceOf(url) != "custom" {
		return ""
	}
	if i := strings.LastIndex(url, "/"); i > strings.Index(url, "://")+2 && strings.HasSuffix(url, "****") {
		return url[:i]
	}
	return url
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
