package ui

import (
	"errors"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

func TestAttachFormAsksForTheTokenAndShowsTheFingerprint(t *testing.T) {
	test.NewTempApp(t)
	loop := newUILoop(t)
	fp := strings.Repeat("ab", 32)
	f := NewAttachForm("studio-pc:7000", fp, true, "", loop.do)
	var tried []string
	f.Verify = func(tok string) error {
		tried = append(tried, tok) // runs on the form's goroutine, read after the UI work below
		if tok != "right" {
			return errors.New("wrong token")
		}
		return nil
	}
	var ready string
	f.Ready = func(tok string, remember bool) { ready = tok }

	markup := test.RenderObjectToMarkup(f.Content())
	if !strings.Contains(markup, "AB:AB:AB") || !strings.Contains(markup, "First attach") {
		t.Fatal("the first-use fingerprint is not shown for checking")
	}
	if !f.connect.Disabled() {
		t.Fatal("Attach is enabled with no token")
	}
	test.Type(f.token.entry, "wrong")
	test.Tap(f.connect)
	loop.await(t, "the wrong token said inline", func() bool { return f.msg.Visible() && strings.Contains(f.msg.Text, "wrong token") })
	if ready != "" || f.connect.Disabled() {
		t.Fatalf("after a wrong token: ready %q, attach disabled %v", ready, f.connect.Disabled())
	}
	if strings.Contains(test.RenderObjectToMarkup(f.Content()), ">wrong<") {
		t.Fatal("the token is shown in the clear")
	}
	f.token.entry.SetText("right")
	test.Tap(f.connect)
	loop.await(t, "ready", func() bool { return ready == "right" })
	if len(tried) != 2 {
		t.Fatalf("tokens tried: %v", tried)
	}
}
