// Package ui is OnAir's studio window, built with fyne over the master's
// Control API only: the same code drives a master on this machine and one
// attached from another. It has no app or window bootstrap of its own (that
// needs cgo and a display), so every view here is tested with fyne's test
// driver.
//
// Threading: widgets are touched only on the UI goroutine. Control API calls
// run on their own goroutines and hand their results back through
// Options.Do (fyne.Do in the app); events from the master arrive the same
// way, and each one updates only the views it concerns.
package ui

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/stub/pb"
	"github.com/onair-studio/onair/ui/link"
	_ "github.com/onair-studio/onair/ui/locale" // before fyne reads the locale
	"github.com/onair-studio/onair/ui/stats"
)

// Options connect the studio to its window and its machine.
type Options struct {
	// Window is the parent of the studio's dialogs.
	Window fyne.Window
	// Do runs a function on the UI goroutine; fyne.Do when nil.
	Do func(func())
	// PreviewEvery is how often the preview asks for a snapshot; 0 turns
	// the preview off.
	PreviewEvery time.Duration
	// OnTitle is told the window title whenever it changes.
	OnTitle func(string)
	// OpenFolder shows a directory of job outputs; the desktop's file
	// manager when nil.
	OpenFolder func(dir string) error
}

// Studio is the main window's content and state.
type Studio struct {
	opt     Options
	client  pb.ControlClient // nil while not connected
	addr    string
	status  *pb.MasterStatus
	everUp  bool
	meter   *stats.Meter
	reading stats.Reading
	title   string

	conn    *widget.Label // connection state
	message *widget.Label // what the last failed action said
	live    *liveBar
	preview *preview
	studio  *preview // studio mode's preview, shown while it is on
	stats   *statsBar
	dests   *destinations
	scene   *scenePanel
	encoder *encoderPanel
	audio   *audioPanel
	procs   *processes
	plugins *pluginsPanel
	jobs    *jobsPanel
	logs    *logView
	tabs    *container.AppTabs
	root    fyne.CanvasObject

	// shortcuts are the hotkeys registered on the window, made from
	// keyList (keysBound once registered).
	shortcuts []fyne.Shortcut
	keyList   []*pb.Hotkey
	keysBound bool

	// doMu serializes fyneDo, and closed drops its calls once the window
	// has ended.
	doMu   sync.Mutex
	closed bool
}

// fyneDo is fyne.Do for the panels' goroutines. While the window's loop
// runs, fyne.Do queues f for the UI goroutine; once the loop has ended it
// runs f at once on the calling goroutine, where two panels' updates would
// race. So calls go one at a time, and none after Close. f must not call
// Do itself.
func (s *Studio) fyneDo(f func()) {
	s.doMu.Lock()
	defer s.doMu.Unlock()
	if !s.closed {
		fyne.Do(f)
	}
}

// Close ends the studio's updates: the window is gone.
func (s *Studio) Close() {
	s.doMu.Lock()
	s.closed = true
	s.doMu.Unlock()
}

// New builds the studio, disconnected until Connected is called.
func New(opt Options) *Studio {
	s := &Studio{meter: &stats.Meter{}}
	if opt.Do == nil {
		opt.Do = s.fyneDo
	}
	s.opt = opt
	s.conn = widget.NewLabel("Connecting…")
	s.conn.Truncation = fyne.TextTruncateEllipsis
	s.message = errorLabel()
	s.live = newLiveBar(s)
	s.preview = newPreview(s, false)
	s.studio = newPreview(s, true)
	s.preview.companion = s.studio
	s.stats = newStatsBar()
	s.dests = newDestinations(s)
	s.scene = newScenePanel(s)
	s.encoder = newEncoderPanel(s)
	s.audio = newAudioPanel(s)
	s.procs = newProcesses(s)
	s.plugins = newPluginsPanel(s)
	s.jobs = newJobsPanel(s)
	s.logs = newLogView()

	s.tabs = container.NewAppTabs(
		container.NewTabItem("Destinations", s.dests.content),
		container.NewTabItem("Scene", s.scene.content),
		container.NewTabItem("Encoder", s.encoder.content),
		container.NewTabItem("Audio", s.audio.content),
		container.NewTabItem("Plugins", s.plugins.content),
		container.NewTabItem("Processes", s.procs.content),
		container.NewTabItem("Jobs", s.jobs.content),
	)
	// Studio mode's preview sits above the program; hidden, the program
	// has the pane to itself.
	left := container.NewBorder(nil, s.stats.content, nil, nil, container.NewGridWithRows(1, s.studio.content, s.preview.content))
	body := container.NewHSplit(left, s.tabs)
	body.Offset = 0.5
	main := container.NewVSplit(body, s.logs.content)
	main.Offset = 0.78
	top := container.NewVBox(container.NewBorder(nil, nil, s.live.content, nil, s.conn), s.message)
	s.root = container.NewBorder(top, nil, nil, nil, main)
	s.bindHotkeys(nil) // the defaults until the master says

	s.setTitle()
	return s
}

// Content is the studio's root widget.
func (s *Studio) Content() fyne.CanvasObject { return s.root }

// Status is the master's last status; nil before the first.
func (s *Studio) Status() *pb.MasterStatus { return s.status }

// Title is the window title: state and address, so the task bar shows it.
func (s *Studio) Title() string { return s.title }

// Connected is called on the UI goroutine when the event stream is up.
func (s *Studio) Connected(c pb.ControlClient, addr string, again bool) {
	s.client, s.addr = c, addr
	if again || s.everUp {
		s.conn.SetText("Reconnected to the engine at " + addr)
	} else {
		s.conn.SetText("Connected to the engine at " + addr)
	}
	s.conn.Importance = widget.SuccessImportance
	s.conn.Refresh()
	s.everUp = true
	s.live.refresh()
	s.preview.start(c)
	s.jobs.start(c)
	s.audio.loadDevices(c)
	s.setTitle()
}

// Disconnected is called on the UI goroutine when the stream ended or
// could not start.
func (s *Studio) Disconnected(err error, retryIn time.Duration, attempt int) {
	s.client = nil
	s.preview.stop()
	s.jobs.halt()
	what := "Connecting to the engine"
	if s.everUp {
		what = "Engine connection lost"
	}
	s.conn.SetText(fmt.Sprintf("%s (%s) — reconnecting in %s, attempt %d…",
		what, errText(err), retryIn.Round(100*time.Millisecond), attempt))
	s.conn.Importance = widget.WarningImportance
	s.conn.Refresh()
	s.live.refresh()
	s.setTitle()
}

// Handler hands the link's reports to the studio on the UI goroutine.
func (s *Studio) Handler() link.Handler {
	return link.Handler{
		Connected: func(c pb.ControlClient, addr string, again bool) {
			s.opt.Do(func() { s.Connected(c, addr, again) })
		},
		Disconnected: func(err error, retryIn time.Duration, attempt int) {
			s.opt.Do(func() { s.Disconnected(err, retryIn, attempt) })
		},
		Event: func(ev *pb.Event) { s.opt.Do(func() { s.Apply(ev) }) },
	}
}

// Apply takes one event from the master, on the UI goroutine.
func (s *Studio) Apply(ev *pb.Event) {
	if ev.GetLog() != "" {
		s.logs.add(ev.GetLog())
	}
	if l := ev.GetAudioLevels(); l != nil {
		s.audio.levels(l)
	}
	if st := ev.GetStatus(); st != nil {
		at := time.UnixMilli(ev.GetUnixMs())
		if ev.GetUnixMs() == 0 {
			at = time.Now()
		}
		s.applyStatus(st, at)
	}
}

func (s *Studio) applyStatus(st *pb.MasterStatus, at time.Time) {
	s.status = st
	// Rates come from events only: their times are the master's clock.
	if !at.IsZero() {
		s.reading = s.meter.Add(st, at)
	}
	s.live.update(st)
	s.stats.update(st, s.reading)
	s.dests.update(st)
	s.scene.update(st)
	s.studio.follow(st)
	s.encoder.update(st)
	s.audio.update(st)
	s.procs.update(st)
	s.plugins.update(st)
	s.bindHotkeys(st.GetHotkeys())
	s.setTitle()
}

func (s *Studio) setTitle() {
	t := "OnAir"
	switch {
	case !s.connected():
		t += " — reconnecting…"
	case s.status.GetLive():
		t += " — LIVE"
	default:
		t += " — off air"
	}
	if s.addr != "" {
		t += " — " + s.addr
	}
	if t != s.title {
		s.title = t
		if s.opt.OnTitle != nil {
			s.opt.OnTitle(t)
		}
	}
}

// connected reports whether the event stream is up: the link hands over a
// client only then.
func (s *Studio) connected() bool { return s.client != nil }

var errNotConnected = errors.New("not connected to the engine")

// defaultCallTimeout bounds one Control API call.
const defaultCallTimeout = 15 * time.Second

// call runs a Control API call off the UI goroutine and applies the status
// it returns; what names the action in an error. done, if set, runs on the
// UI goroutine afterwards.
func (s *Studio) call(what string, fn func(context.Context, pb.ControlClient) (*pb.MasterStatus, error), done func(error)) {
	c := s.client
	if c == nil {
		s.fail(what, errNotConnected)
		if done != nil {
			done(errNotConnected)
		}
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), defaultCallTimeout)
		st, err := fn(ctx, c)
		cancel()
		s.opt.Do(func() {
			if err != nil {
				s.fail(what, err)
			} else {
				s.message.Hide()
				if st != nil {
					s.applyStatus(st, time.Time{})
				}
			}
			if done != nil {
				done(err)
			}
		})
	}()
}

func (s *Studio) fail(what string, err error) {
	s.message.SetText(what + ": " + errText(err))
	s.message.Show()
}

// errText is a gRPC error's message without the code prefix.
func errText(err error) string {
	if err == nil {
		return "closed"
	}
	if st, ok := status.FromError(err); ok {
		return st.Message()
	}
	return err.Error()
}
