package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/onair-studio/onair/stub/pb"
)

// destinations lists each live server with its state, last error and
// counters, and the buttons to reconnect, edit or remove it.
type destinations struct {
	s       *Studio
	add     *widget.Button
	play    *widget.Label // the embedded server's play URL
	rows    []*destRow
	list    *fyne.Container
	content fyne.CanvasObject
}

type destRow struct {
	title, state, errMsg, counters *widget.Label
	reconnect, edit, remove        *widget.Button
	box                            fyne.CanvasObject
}

func newDestinations(s *Studio) *destinations {
	d := &destinations{s: s}
	d.add = widget.NewButtonWithIcon("Add destination", theme.ContentAddIcon(), func() { newDestForm(s, -1).show() })
	d.play = widget.NewLabel("")
	d.play.Wrapping = fyne.TextWrapBreak
	d.play.Hide()
	d.list = container.NewVBox()
	d.content = container.NewBorder(container.NewVBox(d.add, d.play), nil, nil, nil, container.NewVScroll(d.list))
	return d
}

func (d *destinations) update(st *pb.MasterStatus) {
	if p := st.GetRtmpPlay(); p != "" {
		d.play.SetText("Streaming to the built-in server: play " + p)
		d.play.Show()
	} else {
		d.play.Hide()
	}
	list := st.GetDestinations()
	if len(list) != len(d.rows) {
		d.rows = d.rows[:0]
		d.list.RemoveAll()
		for i := range list {
			r := d.newRow(i)
			d.rows = append(d.rows, r)
			d.list.Add(r.box)
		}
	}
	for i, ds := range list {
		d.rows[i].set(ds, st.GetLive())
	}
}

func (d *destinations) newRow(i int) *destRow {
	r := &destRow{
		title:    bold(""),
		state:    widget.NewLabel(""),
		errMsg:   errorLabel(), // shown by set
		counters: widget.NewLabel(""),
	}
	r.title.Truncation = fyne.TextTruncateEllipsis
	r.reconnect = widget.NewButtonWithIcon("Reconnect", theme.ViewRefreshIcon(), func() {
		d.s.call("Reconnect", func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
			return c.Reconnect(ctx, &pb.DestinationRequest{Index: int32(i)})
		}, nil)
	})
	r.edit = widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() { newDestForm(d.s, i).show() })
	r.remove = widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() { d.confirmRemove(i) })
	r.box = container.NewVBox(
		container.NewBorder(nil, nil, nil, r.state, r.title),
		r.errMsg, r.counters,
		container.NewHBox(r.reconnect, r.edit, r.remove),
		widget.NewSeparator(),
	)
	return r
}

func (r *destRow) set(ds *pb.DestinationStatus, live bool) {
	name := ds.GetName()
	if name != "" {
		name += " — "
	}
	r.title.SetText(name + ds.GetUrl())
	state := ds.GetState()
	if ms := ds.GetNextAttemptMs(); state == "retrying" && ms > 0 {
		state = fmt.Sprintf("retrying in %s", (time.Duration(ms) * time.Millisecond).Round(100*time.Millisecond))
	}
	r.state.SetText(state)
	r.state.Importance = stateImportance(ds.GetState())
	r.state.Refresh()
	if e := ds.GetError(); e != "" {
		r.errMsg.SetText("Last error: " + e)
		r.errMsg.Show()
	} else {
		r.errMsg.Hide()
	}
	counters := fmt.Sprintf("%d frames sent, %s, %d dropped, %d attempts",
		ds.GetFramesSent(), bytesText(ds.GetBytesSent()), ds.GetFramesDropped(), ds.GetAttempts())
	if l := ds.GetLink(); l != "" {
		counters += "; " + l // SRT's round-trip time, loss and retransmits; WHIP's state and rate
	}
	r.counters.SetText(counters)
	if live {
		r.reconnect.Enable()
	} else {
		r.reconnect.Disable()
	}
}

func (d *destinations) confirmRemove(i int) {
	ds := d.s.status.GetDestinations()
	if i >= len(ds) {
		return
	}
	dialog.ShowConfirm("Remove destination", "Stop streaming to "+ds[i].GetUrl()+" and remove it?", func(ok bool) {
		if ok {
			d.s.call("Remove destination", func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
				return c.RemoveDestination(ctx, &pb.DestinationRequest{Index: int32(i)})
			}, nil)
		}
	}, d.s.opt.Window)
}

func stateImportance(state string) widget.Importance {
	switch state {
	case "live", "running", "recording", "standby":
		return widget.SuccessImportance
	case "retrying", "connecting", "backoff", "starting", "configuring", "loading":
		return widget.WarningImportance
	case "failed":
		return widget.DangerImportance
	}
	return widget.MediumImportance
}

func bytesText(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
