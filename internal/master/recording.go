package master

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/record"
	"github.com/onair-studio/onair/stub/pb"
)

// defaultRecording is where a recording goes when no path is named: the
// name is a time layout, so each recording gets its own file.
const defaultRecording = "onair-recordings/onair-2006-01-02-150405.mp4"

// recording is the master's one recorder. It lives in the master so a
// crashing encoder never ends it, and it never holds up the live outputs.
type recording struct {
	mu  sync.Mutex
	rec *record.Recorder
	// last is the status of the recording that ended, shown until the next.
	last *pb.RecordingStatus
}

// Record starts or stops recording.
func (m *Master) Record(ctx context.Context, req *pb.RecordRequest) (*pb.MasterStatus, error) {
	if req.GetStop() {
		if err := m.stopRecording(); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		return m.Status(ctx, nil)
	}
	if err := m.startRecording(req.GetPath(), req.GetRendition()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return m.Status(ctx, nil)
}

func (m *Master) startRecording(path, rendition string) error {
	if rendition != "" && !slices.ContainsFunc(m.state.Get().Renditions, func(r config.Rendition) bool { return r.Name == rendition }) {
		return fmt.Errorf("rendition %q is not encoded: only renditions a destination uses can be recorded", rendition)
	}
	source := sourcePath(rendition)
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return err
		}
		path = filepath.Join(home, defaultRecording)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("recording to %s: %w", path, err)
	}
	m.recording.mu.Lock()
	defer m.recording.mu.Unlock()
	if m.recording.rec != nil {
		return fmt.Errorf("already recording to %s", m.recording.rec.Status().Path)
	}
	rec, err := record.New(record.Config{Path: path, Source: source, OnKeyframeNeeded: m.requestKeyframe, Log: m.log})
	if err != nil {
		return err
	}
	m.recording.rec = rec
	m.program.Add(rec)
	m.log.Info("recording", "path", rec.Status().Path, "source", source)
	return nil
}

func (m *Master) stopRecording() error {
	m.recording.mu.Lock()
	rec := m.recording.rec
	m.recording.rec = nil
	m.recording.mu.Unlock()
	if rec == nil {
		return nil
	}
	// Closed while still fed: the sound of the last pictures comes after
	// them, and the recorder waits for it.
	err := rec.Close()
	m.program.Remove(rec)
	s := rec.Status()
	m.recording.mu.Lock()
	m.recording.last = recordingStatus(s)
	m.recording.mu.Unlock()
	m.log.Info("recording stopped", "path", s.Path, "err", err)
	return err
}

func (m *Master) recordingStatus() *pb.RecordingStatus {
	m.recording.mu.Lock()
	defer m.recording.mu.Unlock()
	if m.recording.rec == nil {
		return m.recording.last
	}
	return recordingStatus(m.recording.rec.Status())
}

func recordingStatus(s record.Status) *pb.RecordingStatus {
	st := &pb.RecordingStatus{
		State: string(s.State), Path: s.Path, Bytes: s.Bytes,
		FramesWritten: s.FramesWritten, FramesDropped: s.FramesDropped, AudioFramesWritten: s.AudioFramesWritten,
	}
	if s.Err != nil {
		st.Error = s.Err.Error()
	}
	return st
}
