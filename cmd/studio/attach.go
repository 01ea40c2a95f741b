package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"fyne.io/fyne/v2"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/internal/display"
	"github.com/onair-studio/onair/stub/pb"
	"github.com/onair-studio/onair/ui"
	"github.com/onair-studio/onair/ui/link"
	"github.com/onair-studio/onair/ui/trust"
)

const attachUsage = `usage: master attach [-token TOKEN] [-fingerprint SHA256] HOST:PORT

Opens the studio window against a running master. The token is asked for
when it is not given or known; a TLS master's certificate fingerprint is
pinned on first use and a changed certificate refused.
`

// attachGUI is `master attach ADDR`: the studio for a master elsewhere.
func attachGUI(args []string) error {
	fs := flag.NewFlagSet("master attach", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), attachUsage); fs.PrintDefaults() }
	token := fs.String("token", os.Getenv("ONAIR_TOKEN"), "Control API token (default: $ONAIR_TOKEN, remembered, or asked)")
	fingerprint := fs.String("fingerprint", "", "SHA-256 fingerprint of the master's TLS certificate (default: pinned on first use)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError{errors.New("attach: give the master's HOST:PORT")}
	}
	addr := fs.Arg(0)
	if err := display.Reachable(); err != nil {
		return fmt.Errorf("attach: %w: no window can open here (use 'master ctl -addr %s' on a terminal)", err, addr)
	}
	dir, err := config.Dir()
	if err != nil {
		return err
	}
	store := trust.NewStore(dir)
	known, _, err := store.Lookup(addr)
	if err != nil {
		return err
	}
	given := *fingerprint
	// The master on this machine is known by its own files.
	if local, err := control.ReadEndpoint(dir); err == nil && local.Addr == addr {
		if given == "" {
			given = local.Fingerprint
		}
		if *token == "" {
			*token, _ = control.ReadToken(dir)
		}
	}
	if *token == "" {
		*token = known.Token
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	d, err := trust.Decide(ctx, store, addr, given)
	cancel()
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	if given != "" && known.Fingerprint == "" && d.Fingerprint != "" {
		_ = store.Remember(addr, trust.Master{Fingerprint: d.Fingerprint})
	}
	target := link.Target{Addr: addr, Token: *token, Fingerprint: d.Fingerprint}
	win := window{}
	win.resolve = func() (link.Target, error) { return target, nil }
	win.gateFirst = *token == "" || d.FirstUse
	win.gate = func(w fyne.Window, do func(func()), open func()) {
		f := ui.NewAttachForm(addr, d.Fingerprint, d.FirstUse, *token, do)
		f.Verify = func(tok string) error { return tryToken(addr, tok, d.Fingerprint) }
		f.Ready = func(tok string, remember bool) {
			m := trust.Master{Fingerprint: d.Fingerprint}
			if remember {
				m.Token = tok
			}
			if err := store.Remember(addr, m); err != nil {
				fmt.Fprintln(os.Stderr, "attach: remembering this master:", err)
			}
			target.Token = tok
			open()
		}
		w.SetContent(f.Content())
	}
	return runWindow(win)
}

// tryToken makes one call with the token, so a wrong one is said at once.
func tryToken(addr, token, fingerprint string) error {
	c, conn, err := control.Dial(addr, token, fingerprint)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.Status(ctx, &pb.StatusRequest{})
	return err
}
