package master

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/jobs"
	"github.com/onair-studio/onair/internal/replay"
	"github.com/onair-studio/onair/stub/pb"
)

// replayLayout names a saved replay when no name is given (a Go time layout).
const replayLayout = "replay-2006-01-02-150405.000.mp4"

// moovSlack is room for an MP4's header beside its media when checking the
// disk: about 20 bytes per sample, and more than a long replay needs.
const moovSlack = 4 << 20

// recordingsDir is where recordings, replays and job outputs go, and the
// only place jobs may read from.
func recordingsDir() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, filepath.Dir(defaultRecording)), nil
}

// startJobs opens the job database in dir and the replay buffer on the
// program. Jobs left running by a master that died are retried (by the
// worker) or, for a replay whose buffer died with it, failed.
func (m *Master) startJobs(dir string, seconds int) error {
	buf, err := replay.New(programPath, time.Duration(seconds)*time.Second, replay.DefaultMaxBytes)
	if err != nil {
		return err
	}
	m.replay = buf
	m.program.Add(buf) // real pictures only, not the slate
	if dir == "" {
		return nil
	}
	if m.jobs, err = jobs.Open(filepath.Join(dir, jobs.FileName)); err != nil {
		return err
	}
	if _, err := m.jobs.Recover("the master stopped while the job ran", jobs.Remux, jobs.Trim, jobs.Transcode, jobs.Vertical); err != nil {
		return err
	}
	// A replay cannot be tried again: its packets were in the master.
	if err := m.jobs.Abandon(jobs.Replay, "the master stopped while saving the replay; the buffer went with it"); err != nil {
		return err
	}
	if rec, err := recordingsDir(); err == nil {
		jobs.RemoveTemps(rec)
	}
	return nil
}

func (m *Master) replayStatus() *pb.ReplayStatus {
	if m.replay == nil {
		return nil
	}
	s := m.replay.Stats()
	return &pb.ReplayStatus{Bytes: uint64(s.Bytes), MaxBytes: uint64(s.MaxBytes),
		HeldMs: s.Held.Milliseconds(), KeepMs: s.Keep.Milliseconds()}
}

func (m *Master) jobStore() (*jobs.Store, error) {
	if m.jobs == nil {
		return nil, status.Error(codes.FailedPrecondition, "this master keeps no job database (it runs without a config dir)")
	}
	return m.jobs, nil
}

// SaveReplay takes the clip from the buffer at once (the moment asked
// for), queues it as a job and writes it in the background.
func (m *Master) SaveReplay(_ context.Context, req *pb.ReplayRequest) (*pb.Job, error) {
	store, err := m.jobStore()
	if err != nil {
		return nil, err
	}
	p := jobs.Params{Seconds: req.GetSeconds(), Output: req.GetOutput()}
	if err := p.Check(jobs.Replay); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	out, err := m.outputPath(p.Output, time.Now().Format(replayLayout))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	clip, err := m.replay.Clip(time.Duration(p.Seconds * float64(time.Second)))
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	if _, err := store.Submit(jobs.Replay, p, out); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	j, ok, err := store.Claim(jobs.Replay)
	if err != nil || !ok {
		return nil, status.Errorf(codes.Internal, "starting the replay's job: %v", err)
	}
	m.saves.Add(1)
	go func() {
		defer m.saves.Done()
		err := jobs.CheckSpace(filepath.Dir(out), int64(clip.Bytes)+moovSlack)
		if err == nil {
			err = jobs.WriteAtomic(out, func(f *os.File) error { return replay.WriteMP4(f, clip) })
		}
		if err := store.Finish(j.ID, err); err != nil {
			m.log.Error("replay job", "id", j.ID, "err", err)
		}
		m.log.Info("replay saved", "id", j.ID, "path", out, "length", clip.Duration(), "err", err)
	}()
	return jobProto(j), nil
}

// outputPath resolves a job's output name inside the recordings
// directory (created if missing); empty gives def there.
func (m *Master) outputPath(name, def string) (string, error) {
	dir, err := recordingsDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if name == "" {
		name = def
	}
	out, err := jobs.Inside(dir, name, false)
	if err != nil {
		return "", fmt.Errorf("output: %w", err)
	}
	if _, err := os.Stat(out); err == nil {
		return "", fmt.Errorf("output %s exists; jobs never overwrite a file", name)
	}
	return out, nil
}

func (m *Master) GetJob(_ context.Context, req *pb.JobID) (*pb.Job, error) {
	store, err := m.jobStore()
	if err != nil {
		return nil, err
	}
	j, err := store.Get(req.GetId())
	if err != nil {
		return nil, jobError(err)
	}
	return jobProto(j), nil
}

func (m *Master) ListJobs(_ context.Context, req *pb.JobListRequest) (*pb.JobList, error) {
	store, err := m.jobStore()
	if err != nil {
		return nil, err
	}
	list, err := store.List(int(req.GetLimit()))
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	out := &pb.JobList{}
	for _, j := range list {
		out.Jobs = append(out.Jobs, jobProto(j))
	}
	return out, nil
}

func (m *Master) CancelJob(_ context.Context, req *pb.JobID) (*pb.Job, error) {
	store, err := m.jobStore()
	if err != nil {
		return nil, err
	}
	before, err := store.Cancel(req.GetId())
	if err != nil {
		return nil, jobError(err)
	}
	if before.State == jobs.Running {
		m.dispatch.cancel(before.ID)
	}
	j, err := store.Get(req.GetId())
	if err != nil {
		return nil, jobError(err)
	}
	return jobProto(j), nil
}

func (m *Master) WatchJobs(_ *pb.Empty, srv pb.Control_WatchJobsServer) error {
	store, err := m.jobStore()
	if err != nil {
		return err
	}
	ch, stop := store.Watch()
	defer stop()
	for {
		select {
		case <-srv.Context().Done():
			return nil
		case j := <-ch:
			if err := srv.Send(jobProto(j)); err != nil {
				return err
			}
		}
	}
}

func jobError(err error) error {
	if errors.Is(err, jobs.ErrNotFound) {
		return status.Error(codes.NotFound, err.Error())
	}
	return status.Error(codes.FailedPrecondition, err.Error())
}

// jobProto is a job at the API's edge.
func jobProto(j jobs.Job) *pb.Job {
	return &pb.Job{
		Id: j.ID, Kind: string(j.Kind), ParamsJson: j.Params.JSON(), State: string(j.State),
		Progress: int32(j.Progress), EtaMs: j.ETA.Milliseconds(), Attempts: int32(j.Attempts),
		Error: j.Error, Output: j.Output,
		CreatedUnixMs: j.Created.UnixMilli(), UpdatedUnixMs: j.Updated.UnixMilli(),
	}
}

// SubmitJob checks a job against the disk (its input a file inside the
// recordings directory, its output a new name there) and queues it.
func (m *Master) SubmitJob(_ context.Context, req *pb.JobRequest) (*pb.Job, error) {
	store, err := m.jobStore()
	if err != nil {
		return nil, err
	}
	kind := jobs.Kind(req.GetKind())
	p, err := jobs.ParseParams(kind, []byte(req.GetParamsJson()))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if kind == jobs.Replay {
		return m.SaveReplay(context.Background(), &pb.ReplayRequest{Seconds: p.Seconds, Output: p.Output})
	}
	dir, err := recordingsDir()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if p.Input, err = jobs.Inside(dir, p.Input, true); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%s job: input: %v", kind, err)
	}
	base := filepath.Base(p.Input)
	out, err := m.outputPath(p.Output, fmt.Sprintf("%s-%s-%d%s", base[:len(base)-len(filepath.Ext(base))], kind, time.Now().Unix(), ".mp4"))
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%s job: %v", kind, err)
	}
	if m.worker == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "%s job: this master runs no worker child for media jobs (see -children)", kind)
	}
	if kind == jobs.Trim {
		if err := m.checkSpan(p); err != nil {
			return nil, err
		}
	}
	j, err := store.Submit(kind, p, out)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	m.dispatch.poke()
	return jobProto(j), nil
}

// checkSpan refuses a trim that ends past its input's end, asking the
// worker to read the input; with the worker down, the worker checks it
// when the job runs.
func (m *Master) checkSpan(p jobs.Params) error {
	c, ok := m.worker.Client()
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := c.Probe(ctx, &pb.ProbeRequest{Path: p.Input})
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "trim job: input: %v", status.Convert(err).Message())
	}
	if err := p.CheckSpan(float64(info.GetDurationMs()) / 1000); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return nil
}
