package ui

import (
	"context"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/onair-studio/onair/stub/pb"
)

// fakeJobs is the fake master's job queue: what ListJobs answers and the
// changes WatchJobs streams.
type fakeJobs struct {
	mu      sync.Mutex
	list    []*pb.Job
	changes chan *pb.Job
}

func (m *fakeMaster) ListJobs(context.Context, *pb.JobListRequest) (*pb.JobList, error) {
	m.jobs.mu.Lock()
	defer m.jobs.mu.Unlock()
	return &pb.JobList{Jobs: m.jobs.list}, nil
}

func (m *fakeMaster) WatchJobs(_ *pb.Empty, s pb.Control_WatchJobsServer) error {
	for {
		select {
		case <-s.Context().Done():
			return nil
		case j := <-m.jobs.changes:
			if err := s.Send(j); err != nil {
				return err
			}
		}
	}
}

func (m *fakeMaster) CancelJob(_ context.Context, r *pb.JobID) (*pb.Job, error) {
	m.record("CancelJob", r)
	return &pb.Job{Id: r.GetId(), Kind: "transcode", State: "cancelled", Progress: 40, UpdatedUnixMs: 1 << 50}, nil
}

// The jobs panel lists the master's jobs with their progress bars, follows
// progress as the master streams it, cancels a running job, and opens the
// folder of a finished one.
func TestJobsPanel(t *testing.T) {
	opened := make(chan string, 1)
	m := newFakeMaster()
	m.jobs.changes = make(chan *pb.Job, 8)
	m.jobs.list = []*pb.Job{
		{Id: 2, Kind: "transcode", State: "running", Progress: 10, EtaMs: 9000, UpdatedUnixMs: 10},
		{Id: 1, Kind: "replay", State: "done", Progress: 100, Output: "/home/me/onair-recordings/replay.mp4", UpdatedUnixMs: 5},
	}
	r := newRigWith(t, m, func(o *Options) {
		o.OpenFolder = func(dir string) error { opened <- dir; return nil }
	})
	p := r.studio.jobs
	r.await("both jobs listed", func() bool { return len(p.rows) == 2 })
	running, done := p.rows[2], p.rows[1]
	if running.bar.Value != 0.1 || !strings.Contains(running.detail.Text, "about 9s to go") || !running.cancel.Visible() || running.open.Visible() {
		t.Errorf("running job row: bar %v, %q, cancel %v, open %v", running.bar.Value, running.detail.Text, running.cancel.Visible(), running.open.Visible())
	}
	if done.bar.Value != 1 || done.cancel.Visible() || !done.open.Visible() {
		t.Errorf("done job row: bar %v, cancel %v, open %v", done.bar.Value, done.cancel.Visible(), done.open.Visible())
	}
	if first := p.list.Objects[0]; first != running.box {
		t.Error("the newest job is not first")
	}

	m.jobs.changes <- &pb.Job{Id: 2, Kind: "transcode", State: "running", Progress: 60, EtaMs: 2000, UpdatedUnixMs: 20}
	r.await("progress streamed into the bar", func() bool { return running.bar.Value == 0.6 })

	test.Tap(running.cancel)
	r.await("the job cancelled", func() bool { return strings.HasPrefix(running.detail.Text, "cancelled") })
	if c := m.called("CancelJob"); !strings.Contains(c, "id:2") {
		t.Errorf("cancel sent %q", c)
	}
	if running.cancel.Visible() {
		t.Error("a cancelled job still offers cancel")
	}

	test.Tap(done.open)
	if dir := <-opened; dir != "/home/me/onair-recordings" {
		t.Errorf("opened %q", dir)
	}
}
