package ui

import (
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/onair-studio/onair/ui/trust"
)

// AttachForm asks what attaching to a master on another machine needs: the
// token, and on first use the user's look at the certificate fingerprint
// that will be pinned. It checks the token with the master before going on.
type AttachForm struct {
	// Verify tries the token; it runs off the UI goroutine.
	Verify func(token string) error
	// Ready is called on the UI goroutine with a token that worked.
	Ready func(token string, remember bool)

	do       func(func())
	token    *field
	remember *widget.Check
	connect  *widget.Button
	msg      *widget.Label
	form     form
	content  fyne.CanvasObject
}

// NewAttachForm shows addr and, when it is new, the fingerprint to pin;
// token prefills the entry. do runs a function on the UI goroutine.
func NewAttachForm(addr, fingerprint string, firstUse bool, token string, do func(func())) *AttachForm {
	if do == nil {
		do = fyne.Do
	}
	f := &AttachForm{do: do}
	f.token = f.form.add(newField("Token", widget.NewPasswordEntry(), func(v string) error {
		v = strings.TrimSpace(v)
		switch {
		case v == "":
			return errors.New("enter the token from the master's machine")
		case strings.ContainsAny(v, " \t\r\n"):
			return errors.New("the token has spaces or line breaks")
		}
		return nil
	}))
	f.token.entry.SetText(token)
	f.remember = widget.NewCheck("Remember the token for this master", nil)
	f.remember.SetChecked(true)
	f.msg = errorLabel()
	f.connect = widget.NewButton("Attach", f.submit)
	f.connect.Importance = widget.HighImportance
	f.form.save = f.connect

	cert := widget.NewLabel("No TLS: this machine only.")
	if fingerprint != "" {
		text := "Certificate SHA-256 (pinned):\n" + trust.Pretty(fingerprint)
		if firstUse {
			text = "First attach to this master. Check that this certificate fingerprint is the one it printed " +
				"at start; it will be pinned, and a master with another certificate refused:\n" + trust.Pretty(fingerprint)
		}
		cert.SetText(text)
	}
	cert.Wrapping = fyne.TextWrapBreak
	hint := widget.NewLabel("The token is in the config directory on the master's machine (onair/token).")
	hint.Importance = widget.LowImportance
	hint.Wrapping = fyne.TextWrapWord
	f.content = container.NewVBox(
		bold("Attach to the OnAir master at "+addr), cert,
		grid(widget.NewLabel("Token"), f.token.object()), hint, f.remember, f.msg, f.connect)
	f.form.validate()
	return f
}

// Content is the form's root widget.
func (f *AttachForm) Content() fyne.CanvasObject { return f.content }

func (f *AttachForm) submit() {
	if !f.form.validate() {
		return
	}
	token := strings.TrimSpace(f.token.entry.Text)
	f.connect.Disable()
	f.msg.Hide()
	go func() {
		err := f.Verify(token)
		f.do(func() {
			if err != nil {
				f.msg.SetText(errText(err))
				f.msg.Show()
				f.connect.Enable()
				return
			}
			f.Ready(token, f.remember.Checked)
		})
	}()
}
