package ui

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/onair-studio/onair/stub/pb"
)

// jobsShown is how many of the newest jobs the panel lists.
const jobsShown = 50

// jobsPanel lists the master's jobs, newest first: each with a progress
// bar, its state, time to go or error, a cancel button while it can still
// be stopped, and "Open folder" once its output is there.
type jobsPanel struct {
	s       *Studio
	rows    map[int64]*jobRow
	list    *fyne.Container
	empty   *widget.Label
	content fyne.CanvasObject
	stop    context.CancelFunc
}

type jobRow struct {
	id     int64
	title  *widget.Label
	bar    *widget.ProgressBar
	detail *widget.Label
	cancel *widget.Button
	open   *widget.Button
	box    fyne.CanvasObject
	job    *pb.Job
}

func newJobsPanel(s *Studio) *jobsPanel {
	p := &jobsPanel{s: s, rows: map[int64]*jobRow{}, list: container.NewVBox(),
		empty: widget.NewLabel("No jobs yet. Save a replay or submit a job with 'master ctl jobs submit'.")}
	p.empty.Wrapping = fyne.TextWrapWord
	p.content = container.NewVScroll(container.NewVBox(p.empty, p.list))
	return p
}

// start follows the jobs of the master c talks to until stop.
func (p *jobsPanel) start(c pb.ControlClient) {
	p.halt()
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	go p.follow(ctx, c)
}

func (p *jobsPanel) halt() {
	if p.stop != nil {
		p.stop()
		p.stop = nil
	}
}

// follow lists the newest jobs, then shows each change the master streams.
func (p *jobsPanel) follow(ctx context.Context, c pb.ControlClient) {
	watch, err := c.WatchJobs(ctx, &pb.Empty{})
	if err != nil {
		return // a master without jobs: the panel stays empty
	}
	list, err := c.ListJobs(ctx, &pb.JobListRequest{Limit: jobsShown})
	if err == nil {
		jobs := list.GetJobs()
		p.s.opt.Do(func() {
			for i := len(jobs) - 1; i >= 0; i-- {
				p.show(jobs[i])
			}
		})
	}
	for {
		j, err := watch.Recv()
		if err != nil {
			return
		}
		p.s.opt.Do(func() { p.show(j) })
	}
}

// show adds or updates job j's row, on the UI goroutine.
func (p *jobsPanel) show(j *pb.Job) {
	r, ok := p.rows[j.GetId()]
	if !ok {
		r = p.newRow(j.GetId())
		p.rows[j.GetId()] = r
		p.relist()
	}
	if r.job != nil && r.job.GetUpdatedUnixMs() > j.GetUpdatedUnixMs() {
		return // an older word than the one shown
	}
	r.set(j)
	p.empty.Hide()
}

// relist orders the rows newest first.
func (p *jobsPanel) relist() {
	ids := make([]int64, 0, len(p.rows))
	for id := range p.rows {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] > ids[b] })
	p.list.RemoveAll()
	for _, id := range ids {
		p.list.Add(p.rows[id].box)
	}
}

func (p *jobsPanel) newRow(id int64) *jobRow {
	r := &jobRow{id: id, title: widget.NewLabel(""), bar: widget.NewProgressBar(), detail: widget.NewLabel("")}
	r.detail.Wrapping = fyne.TextWrapWord
	r.detail.Importance = widget.LowImportance
	r.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() {
		p.s.call(fmt.Sprintf("Cancel job %d", id), func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
			j, err := c.CancelJob(ctx, &pb.JobID{Id: id})
			if err == nil {
				p.s.opt.Do(func() { p.show(j) })
			}
			return nil, err
		}, nil)
	})
	r.open = widget.NewButtonWithIcon("Open folder", theme.FolderOpenIcon(), func() {
		dir := filepath.Dir(r.job.GetOutput())
		if err := p.s.openFolder(dir); err != nil {
			p.s.fail("Open folder", err)
		}
	})
	r.box = container.NewVBox(
		container.NewBorder(nil, nil, r.title, container.NewHBox(r.cancel, r.open), r.bar),
		r.detail, widget.NewSeparator())
	return r
}

func (r *jobRow) set(j *pb.Job) {
	r.job = j
	r.title.SetText(fmt.Sprintf("#%d %s", j.GetId(), j.GetKind()))
	r.bar.SetValue(float64(j.GetProgress()) / 100)
	detail := j.GetState()
	switch {
	case j.GetState() == "running" && j.GetEtaMs() > 0:
		detail += fmt.Sprintf(", %d%%, about %s to go", j.GetProgress(), (time.Duration(j.GetEtaMs()) * time.Millisecond).Round(time.Second))
	case j.GetError() != "":
		detail += ": " + j.GetError()
	case j.GetState() == "done":
		detail += ": " + j.GetOutput()
	}
	if j.GetAttempts() > 1 {
		detail += fmt.Sprintf(" (attempt %d)", j.GetAttempts())
	}
	r.detail.SetText(detail)
	if j.GetState() == "queued" || j.GetState() == "running" {
		r.cancel.Show()
	} else {
		r.cancel.Hide()
	}
	if j.GetState() == "done" {
		r.open.Show()
	} else {
		r.open.Hide()
	}
}

// openFolder shows dir in the desktop's file manager: the studio's option,
// or the system's handler for file URLs.
func (s *Studio) openFolder(dir string) error {
	if s.opt.OpenFolder != nil {
		return s.opt.OpenFolder(dir)
	}
	return fyne.CurrentApp().OpenURL(&url.URL{Scheme: "file", Path: dir})
}
