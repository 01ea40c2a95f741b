// Package worker is the worker child's service: it does one job's media
// work when the master asks (the master keeps the queue and decides what
// runs when), reports its progress, and writes each output under a
// temporary name that it renames only when the output is complete.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/jobs"
	"github.com/onair-studio/onair/internal/media/jobrun"
	"github.com/onair-studio/onair/stub/pb"
)

// Nice is the worker's CPU priority: below the live encode, so a transcode
// gets only the time the stream leaves.
const Nice = 10

// DefaultPreset is x264's preset when a job names none: quick enough that
// a night's recording is done in less than the night.
const DefaultPreset = "veryfast"

// Server implements pb.WorkerServer.
type Server struct {
	pb.UnimplementedWorkerServer
	log      *slog.Logger
	revision atomic.Uint64
	running  atomic.Int32
}

// New returns a worker service logging to log.
func New(log *slog.Logger) *Server { return &Server{log: log} }

func (s *Server) Configure(_ context.Context, c *pb.WorkerConfig) (*pb.WorkerStatus, error) {
	s.revision.Store(c.GetRevision())
	return s.status(), nil
}

func (s *Server) Status(context.Context, *pb.StatusRequest) (*pb.WorkerStatus, error) {
	return s.status(), nil
}

func (s *Server) status() *pb.WorkerStatus {
	// The raw system call answers 20 - nice.
	prio, _ := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	return &pb.WorkerStatus{AppliedRevision: s.revision.Load(), Running: s.running.Load(), Nice: int32(20 - prio)}
}

func (s *Server) Probe(_ context.Context, req *pb.ProbeRequest) (*pb.ProbeReply, error) {
	info, err := jobrun.Probe(req.GetPath())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &pb.ProbeReply{DurationMs: info.Duration.Milliseconds(), Width: int32(info.Width), Height: int32(info.Height)}, nil
}

// Run does one job. Its failure is the stream's error with code Aborted.
func (s *Server) Run(req *pb.WorkRequest, stream pb.Worker_RunServer) error {
	s.running.Add(1)
	defer s.running.Add(-1)
	kind := jobs.Kind(req.GetKind())
	p, err := jobs.ParseParams(kind, []byte(req.GetParamsJson()))
	if err != nil {
		return status.Error(codes.Aborted, err.Error())
	}
	spec, err := Plan(kind, p, req.GetOutput())
	if err != nil {
		return status.Error(codes.Aborted, err.Error())
	}
	finals := make([]string, len(spec.Outputs))
	for i := range spec.Outputs {
		finals[i] = spec.Outputs[i].Path
		spec.Outputs[i].Path = jobs.TempPath(finals[i])
	}
	removeTemps := func() {
		for _, o := range spec.Outputs {
			_ = os.Remove(o.Path)
		}
	}
	began, sent := time.Now(), -1
	err = jobrun.Run(stream.Context(), spec, func(done, total time.Duration) {
		if total <= 0 || done <= 0 {
			return
		}
		pct := min(int(done*100/total), 99) // 100 only once renamed
		if pct == sent {
			return
		}
		sent = pct
		eta := time.Duration(float64(time.Since(began)) * float64(total-done) / float64(done))
		_ = stream.Send(&pb.WorkProgress{Percent: int32(pct), EtaMs: eta.Milliseconds()})
	})
	if errors.Is(err, jobrun.ErrCancelled) {
		removeTemps()
		s.log.Info("job cancelled", "id", req.GetId())
		return status.Error(codes.Canceled, "cancelled")
	}
	if err == nil {
		for i, tmp := range spec.Outputs {
			if err = os.Rename(tmp.Path, finals[i]); err != nil {
				break
			}
		}
	}
	if err != nil {
		removeTemps()
		if strings.Contains(err.Error(), "No space left on device") {
			err = fmt.Errorf("%w: %w", jobs.ErrDiskFull, err)
		}
		s.log.Info("job failed", "id", req.GetId(), "err", err)
		return status.Error(codes.Aborted, err.Error())
	}
	s.log.Info("job done", "id", req.GetId(), "kind", kind, "took", time.Since(began).Round(time.Millisecond))
	return stream.Send(&pb.WorkProgress{Percent: 100, Done: true})
}
