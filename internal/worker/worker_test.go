package worker

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/jobs"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// runStream is the master's end of one Run call.
type runStream struct {
	grpc.ServerStream
	ctx  context.Context
	sent []*pb.WorkProgress
}

func (s *runStream) Send(p *pb.WorkProgress) error { s.sent = append(s.sent, p); return nil }
func (s *runStream) Context() context.Context      { return s.ctx }

func run(t *testing.T, kind, params, output string) (*runStream, error) {
	s := &runStream{ctx: t.Context()}
	err := New(slog.New(slog.DiscardHandler)).Run(&pb.WorkRequest{Id: 1, Kind: kind, ParamsJson: params, Output: output}, s)
	return s, err
}

// A disk that fills mid-job (the kernel's ENOSPC, from /dev/full behind the
// temporary name) fails the job with that reason, removes the temporary
// file and leaves no output.
func TestDiskFullMidJob(t *testing.T) {
	dir := t.TempDir()
	in := testpeer.MakeMP4(t, dir, "show.mp4", 2, 320, 180)
	out := filepath.Join(dir, "out.mp4")
	if err := os.Symlink("/dev/full", jobs.TempPath(out)); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, "remux", `{"input":"`+in+`"}`, out)
	if status.Code(err) != codes.Aborted || !strings.Contains(err.Error(), "not enough free disk space") || !strings.Contains(err.Error(), "No space left on device") {
		t.Fatalf("a full disk: %v", err)
	}
	for _, p := range []string{jobs.TempPath(out), out} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s is there after the failed job", p)
		}
	}
}

// A job whose output needs more room than the disk has is refused before
// it starts, saying how much each is (a 1 MiB tmpfs; needs root).
func TestTooLittleSpaceRefused(t *testing.T) {
	dir := t.TempDir()
	in := testpeer.MakeMP4(t, dir, "show.mp4", 2, 320, 180)
	small := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small).CombinedOutput(); err != nil {
		t.Skipf("no tmpfs to fill (%v: %s)", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", small).Run() })
	_, err := run(t, "remux", `{"input":"`+in+`"}`, filepath.Join(small, "out.mp4"))
	if status.Code(err) != codes.Aborted || !strings.Contains(err.Error(), "not enough free disk space") || !strings.Contains(err.Error(), "1 MiB free") {
		t.Fatalf("too little space: %v", err)
	}
	if entries, _ := os.ReadDir(small); len(entries) != 0 {
		t.Errorf("files left on the small disk: %v", entries)
	}
}

// A done job reports rising progress, then done, and its output is whole
// under its final name.
func TestRunReportsProgressAndRenames(t *testing.T) {
	dir := t.TempDir()
	in := testpeer.MakeMP4(t, dir, "show.mp4", 3, 320, 180)
	out := filepath.Join(dir, "tall.mp4")
	s, err := run(t, "vertical", `{"input":"`+in+`"}`, out)
	if err != nil {
		t.Fatal(err)
	}
	last := s.sent[len(s.sent)-1]
	if !last.GetDone() || last.GetPercent() != 100 {
		t.Errorf("last message %v", last)
	}
	if v := testpeer.ProbeVideo(t, out); v.Width != 100 || v.Height != 180 {
		t.Errorf("vertical cut of 320x180 without a size: %+v, want 100x180", v)
	}
	if _, err := os.Stat(jobs.TempPath(out)); !os.IsNotExist(err) {
		t.Error("the temporary file is still there")
	}
}
