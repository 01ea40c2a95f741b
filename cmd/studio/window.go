package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/ui"
	"github.com/onair-studio/onair/ui/link"
)

// previewEvery is how often the window asks the master for a snapshot.
const previewEvery = 250 * time.Millisecond

// quitGrace is how long fyne's loop has to end once the window quits.
// fyne 2.7.1 can hang in its own teardown (the stopped event it queues at
// the end waits for the main loop that has just closed), and a window that
// never closes is worse than one that skips fyne's last clean-up: it holds
// nothing the engine needs.
const quitGrace = 3 * time.Second

// placesEnv, set to 1 by the window tests, makes SIGUSR1 print where the
// parts they click are ("places: " and JSON, in window pixels).
const placesEnv = "ONAIR_TEST_PLACES"

// printPlaces answers SIGUSR1 until ctx ends, on the UI goroutine, so the
// places are those of the window as last laid out. The signal is taken
// before the window shows (by default it would end the process).
func printPlaces(ctx context.Context, studio *ui.Studio) {
	ask := make(chan os.Signal, 1)
	signal.Notify(ask, syscall.SIGUSR1)
	go func() {
		defer signal.Stop(ask)
		for {
			select {
			case <-ask:
				fyne.Do(func() {
					b, _ := json.Marshal(studio.Places())
					fmt.Fprintf(os.Stderr, "places: %s\n", b)
				})
			case <-ctx.Done():
				return
			}
		}
	}()
}

// window is what the studio window attaches to.
type window struct {
	resolve link.Resolver
	// ownsEngine: this machine's engine, which closing the window may stop.
	ownsEngine bool
	// gate asks for what attaching needs and calls open when the user may
	// go on. It is shown first if gateFirst, and again when the master
	// refuses the token.
	gate      func(w fyne.Window, do func(func()), open func())
	gateFirst bool
}

func runWindow(win window) error {
	a := app.NewWithID("studio.onair")
	w := a.NewWindow("OnAir")
	w.Resize(fyne.NewSize(1200, 760))
	opt := ui.Options{Window: w, PreviewEvery: previewEvery, OnTitle: w.SetTitle}
	studio := ui.New(opt)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var linkDone chan struct{}
	// open shows the studio and follows the master; on the UI goroutine.
	var open func()
	open = func() {
		w.SetContent(studio.Content())
		lctx, lcancel := context.WithCancel(ctx)
		done := make(chan struct{})
		linkDone = done
		h := studio.Handler()
		if win.gate != nil {
			report := h.Disconnected
			h.Disconnected = func(err error, retryIn time.Duration, attempt int) {
				if status.Code(err) != codes.Unauthenticated {
					report(err, retryIn, attempt)
					return
				}
				lcancel() // a wrong token stays wrong: ask again
				fyne.Do(func() { win.gate(w, fyne.Do, open) })
			}
		}
		go func() {
			defer lcancel()
			link.Run(lctx, win.resolve, h, link.DefaultBackoff)
			close(done)
		}()
	}
	if win.gate != nil && win.gateFirst {
		win.gate(w, fyne.Do, open)
	} else {
		open()
	}

	if os.Getenv(placesEnv) == "1" {
		printPlaces(ctx, studio)
	}
	// quitting stops the panels' updates and, should fyne's loop not end
	// within quitGrace, ends the window without it. Once: a signal and a
	// button of the quit dialog may both ask.
	quitting := sync.OnceFunc(func() {
		studio.Close()
		time.AfterFunc(quitGrace, func() {
			cancel()
			os.Exit(0)
		})
	})
	// A signal ends the window only: the engine is a separate process.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		select {
		case <-sig:
			// Here, not on the UI goroutine: fyne takes the signal too and
			// may be ending its loop already.
			quitting()
			fyne.Do(func() {
				if pid := studio.Status().GetPid(); win.ownsEngine && pid > 0 {
					fmt.Fprintf(os.Stderr, "Closing the window; the engine keeps running (pid %d). Stop it with: kill %[1]d\n", pid)
				}
				a.Quit()
			})
		case <-ctx.Done():
		}
	}()
	if win.ownsEngine {
		w.SetCloseIntercept(func() { confirmQuit(a, w, studio, quitting) })
	} else {
		w.SetOnClosed(quitting)
	}
	w.ShowAndRun()
	studio.Close()
	cancel()
	if linkDone != nil {
		select {
		case <-linkDone:
		case <-time.After(2 * time.Second):
		}
	}
	return nil
}

// confirmQuit asks whether the engine on this machine should stop with the
// window; keeping it is the default, since it may be live or recording.
func confirmQuit(a fyne.App, w fyne.Window, studio *ui.Studio, quitting func()) {
	st := studio.Status()
	msg := "The engine is off air. Stop it too, or keep it running for a later window?"
	if st.GetLive() || st.GetRecording().GetState() == "recording" {
		msg = "The engine is live or recording. Keep it running (the stream goes on), or stop it?"
	}
	var d dialog.Dialog
	keep := widget.NewButton("Keep the engine running", func() {
		quitting()
		a.Quit()
	})
	keep.Importance = widget.HighImportance
	stop := widget.NewButton("Stop the engine", func() {
		if err := stopEngine(int(st.GetPid())); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the engine:", err)
		}
		quitting()
		a.Quit()
	})
	stop.Importance = widget.DangerImportance
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	label := widget.NewLabel(msg)
	label.Wrapping = fyne.TextWrapWord
	d = dialog.NewCustomWithoutButtons("Quit OnAir", container.NewVBox(label, container.NewHBox(cancel, stop, keep)), w)
	d.Resize(fyne.NewSize(460, 0))
	d.Show()
}
