package master

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/jobs"
	"github.com/onair-studio/onair/stub/pb"
)

// mediaKinds are the jobs the worker child does.
var mediaKinds = []jobs.Kind{jobs.Remux, jobs.Trim, jobs.Transcode, jobs.Vertical}

// dispatchPoll is how often an idle dispatcher looks for work it was not
// woken for (a job requeued after a crash, a worker back up).
const dispatchPoll = 250 * time.Millisecond

// dispatcher hands queued media jobs to the worker child, concurrency at a
// time, and records what the worker reports.
type dispatcher struct {
	wake    chan struct{}
	loops   sync.WaitGroup
	mu      sync.Mutex
	running map[int64]context.CancelFunc
}

func newDispatcher() *dispatcher {
	return &dispatcher{wake: make(chan struct{}, 1), running: map[int64]context.CancelFunc{}}
}

// poke tells an idle dispatcher that a job was queued.
func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// cancel stops job id's run, if it runs here.
func (d *dispatcher) cancel(id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if stop, ok := d.running[id]; ok {
		stop()
	}
}

func (m *Master) startDispatch(ctx context.Context, concurrency int) {
	for range max(concurrency, 1) {
		m.dispatch.loops.Add(1)
		go func() {
			defer m.dispatch.loops.Done()
			m.dispatchLoop(ctx)
		}()
	}
}

func (m *Master) dispatchLoop(ctx context.Context) {
	for ctx.Err() == nil {
		waiting, err := m.jobs.Waiting(mediaKinds...)
		if err != nil {
			m.log.Error("job queue", "err", err)
		}
		if c, ok := m.worker.Client(); ok && waiting && answers(ctx, c) {
			j, found, err := m.jobs.Claim(mediaKinds...)
			if err != nil {
				m.log.Error("job queue", "err", err)
			}
			if found {
				m.runJob(ctx, c, j)
				continue
			}
		}
		select {
		case <-ctx.Done():
		case <-m.dispatch.wake:
		case <-time.After(dispatchPoll):
		}
	}
}

// answers reports whether the worker answers now: a job is claimed (an
// attempt counted) only by a worker that can take it, not by one that has
// just died and is not yet seen to.
func answers(ctx context.Context, c pb.WorkerClient) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := c.Status(ctx, &pb.StatusRequest{})
	return err == nil
}

// runJob has the worker do j and records how it ended: done, failed with
// the worker's reason, cancelled, released (the master stops), or
// interrupted (the worker died) and so queued again while attempts remain.
func (m *Master) runJob(ctx context.Context, c pb.WorkerClient, j jobs.Job) {
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.dispatch.mu.Lock()
	m.dispatch.running[j.ID] = cancel
	m.dispatch.mu.Unlock()
	defer func() {
		m.dispatch.mu.Lock()
		delete(m.dispatch.running, j.ID)
		m.dispatch.mu.Unlock()
	}()
	m.log.Info("job started", "id", j.ID, "kind", j.Kind, "attempt", j.Attempts)
	done, err := m.workOn(jctx, c, j)
	switch {
	case done:
		err = m.jobs.Finish(j.ID, nil)
	case status.Code(err) == codes.Aborted:
		err = m.jobs.Finish(j.ID, errors.New(status.Convert(err).Message()))
	case ctx.Err() != nil:
		// The master is stopping: the job runs again at its next start,
		// and this stop costs it no attempt.
		err = m.jobs.Release(j.ID)
	case jctx.Err() != nil:
		// Cancelled: the job says so already, and the worker removes what
		// it had written.
		err = nil
	default:
		m.removeParts(j)
		err = m.jobs.Interrupted(j.ID, "the worker stopped while the job ran: "+status.Convert(err).Message())
	}
	if err != nil {
		m.log.Error("job queue", "id", j.ID, "err", err)
	}
	if after, gerr := m.jobs.Get(j.ID); gerr == nil {
		m.log.Info("job ended", "id", j.ID, "state", after.State, "error", after.Error)
	}
}

// workOn streams j's run, recording its progress; done says the worker
// finished it.
func (m *Master) workOn(ctx context.Context, c pb.WorkerClient, j jobs.Job) (done bool, err error) {
	stream, err := c.Run(ctx, &pb.WorkRequest{Id: j.ID, Kind: string(j.Kind), ParamsJson: j.Params.JSON(), Output: j.Output})
	if err != nil {
		return false, err
	}
	for {
		p, err := stream.Recv()
		if err == io.EOF {
			return false, status.Error(codes.Unavailable, "the run ended without a result")
		}
		if err != nil {
			return false, err
		}
		if p.GetDone() {
			return true, nil
		}
		if err := m.jobs.Progress(j.ID, int(p.GetPercent()), time.Duration(p.GetEtaMs())*time.Millisecond); err != nil {
			m.log.Error("job progress", "id", j.ID, "err", err)
		}
	}
}

// removeParts removes what a run that died had half written.
func (m *Master) removeParts(j jobs.Job) {
	for _, out := range jobs.Outputs(j) {
		_ = os.Remove(jobs.TempPath(out))
	}
}
