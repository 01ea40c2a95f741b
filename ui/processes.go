package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/onair-studio/onair/stub/pb"
)

// processes shows the master and each child: state, pid, restarts, uptime,
// last exit, with a button to restart a child (also out of 'failed').
type processes struct {
	s       *Studio
	master  *widget.Label
	rows    map[string]*procRow
	list    *fyne.Container
	content fyne.CanvasObject
}

type procRow struct {
	name, state, detail, exit *widget.Label
	restart                   *widget.Button
	box                       fyne.CanvasObject
}

func newProcesses(s *Studio) *processes {
	p := &processes{s: s, master: widget.NewLabel(""), rows: map[string]*procRow{}, list: container.NewVBox()}
	p.content = container.NewVScroll(container.NewVBox(p.master, widget.NewSeparator(), p.list))
	return p
}

func (p *processes) update(st *pb.MasterStatus) {
	p.master.SetText(fmt.Sprintf("master: pid %d, desired state revision %d", st.GetPid(), st.GetRevision()))
	for _, c := range st.GetChildren() {
		r, ok := p.rows[c.GetName()]
		if !ok {
			r = p.newRow(c.GetName())
			p.rows[c.GetName()] = r
			p.list.Add(r.box)
		}
		r.set(c)
	}
}

func (p *processes) newRow(name string) *procRow {
	r := &procRow{name: bold(name), state: widget.NewLabel(""), detail: widget.NewLabel(""), exit: widget.NewLabel("")}
	r.exit.Wrapping = fyne.TextWrapWord
	r.exit.Importance = widget.LowImportance
	r.restart = widget.NewButtonWithIcon("Restart", theme.ViewRefreshIcon(), func() {
		p.s.call("Restart "+name, func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
			return c.Restart(ctx, &pb.ChildRequest{Child: name})
		}, nil)
	})
	r.box = container.NewVBox(
		container.NewBorder(nil, nil, r.name, r.restart, r.state),
		r.detail, r.exit, widget.NewSeparator())
	return r
}

func (r *procRow) set(c *pb.ChildStatus) {
	state := c.GetState()
	if ms := c.GetNextStartMs(); ms > 0 {
		state += fmt.Sprintf(" (next start in %s)", (time.Duration(ms) * time.Millisecond).Round(100*time.Millisecond))
	}
	if n := c.GetNote(); n != "" {
		state += " (" + n + ")"
	}
	r.state.SetText(state)
	r.state.Importance = stateImportance(c.GetState())
	r.state.Refresh()
	detail := fmt.Sprintf("pid %d, %d restarts, up %s, revision %d",
		c.GetPid(), c.GetRestarts(), (time.Duration(c.GetUptimeMs()) * time.Millisecond).Round(time.Second), c.GetConfiguredRevision())
	if mb := c.GetMemoryBytes(); mb > 0 {
		detail += fmt.Sprintf(", %.0f MB resident", float64(mb)/1e6)
	}
	r.detail.SetText(detail)
	if e := c.GetLastExit(); e != "" {
		r.exit.SetText("last exit: " + e)
		r.exit.Show()
	} else {
		r.exit.Hide()
	}
}
