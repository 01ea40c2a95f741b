package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/internal/jobs"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// jobMaster is a master with the encoder and the worker child, whose
// recordings directory holds a recording of seconds at w×h.
func jobMaster(t *testing.T, seconds float64, w, h int, args ...string) (m *testpeer.Master, recordings string) {
	t.Helper()
	home := t.TempDir()
	recordings = filepath.Join(home, "onair-recordings")
	os.MkdirAll(recordings, 0o755)
	testpeer.MakeMP4(t, recordings, "show.mp4", seconds, w, h)
	args = append([]string{"-children", "encoder,worker", "-source", "pattern", "-width", "320", "-height", "180"}, args...)
	m = startMaster(t, []string{"HOME=" + home}, args...)
	m.AwaitConfigured(20*time.Second, "encoder", "worker")
	return m, recordings
}

func submit(t *testing.T, m *testpeer.Master, kind, params string) *pb.Job {
	t.Helper()
	j, err := m.Client.SubmitJob(t.Context(), &pb.JobRequest{Kind: kind, ParamsJson: params})
	if err != nil {
		t.Fatalf("submit %s %s: %v", kind, params, err)
	}
	return j
}

func awaitJob(t *testing.T, m *testpeer.Master, id int64, within time.Duration, cond func(*pb.Job) bool) *pb.Job {
	t.Helper()
	var j *pb.Job
	m.Await(fmt.Sprintf("job %d", id), within, func() bool {
		j, _ = m.Client.GetJob(t.Context(), &pb.JobID{Id: id})
		return cond(j)
	})
	return j
}

func finished(j *pb.Job) bool { return jobs.State(j.GetState()).Finished() }

func running(j *pb.Job) bool { return j.GetState() == "running" && j.GetProgress() >= 5 }

// niceOf is a process's nice value from /proc.
func niceOf(t *testing.T, pid int32) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	n, _ := strconv.Atoi(f[16]) // field 19 of stat
	return n
}

func count(set map[int64]bool) int {
	n := 0
	for _, in := range set {
		if in {
			n++
		}
	}
	return n
}

func temps(dir string) []string {
	parts, _ := filepath.Glob(filepath.Join(dir, ".*"+jobs.PartSuffix))
	return parts
}

// The worker child runs at nice 10 and does each kind of job: a transcode
// of a 20 s recording to 640x360 (that size and length, its progress rising
// to 100 in order), a trim and a vertical cut (the times and size asked);
// a trim past the end is refused at submit; a corrupt input fails its job
// with the demuxer's reason and the worker stays up.
func TestWorkerJobs(t *testing.T) {
	t.Parallel()
	m, rec := jobMaster(t, 20, 960, 540)
	worker := child(m.Status(), "worker")
	if n := niceOf(t, worker.GetPid()); n != 10 {
		t.Errorf("worker runs at nice %d, want 10", n)
	}
	if out, err := m.Ctl("status"); err != nil || !strings.Contains(out, "worker") {
		t.Errorf("ctl status does not show the worker: %v\n%s", err, out)
	}

	watch, err := m.Client.WatchJobs(t.Context(), &pb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	tr := submit(t, m, "transcode", `{"input":"show.mp4","output":"small.mp4","renditions":[{"width":640,"height":360,"bitrate_kbps":800,"preset":"ultrafast"}]}`)
	var progress []int32
	for {
		j, err := watch.Recv()
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		if j.GetId() != tr.GetId() {
			continue
		}
		progress = append(progress, j.GetProgress())
		if finished(j) {
			if j.GetState() != "done" {
				t.Fatalf("transcode: %v", j)
			}
			break
		}
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] < progress[i-1] {
			t.Errorf("progress went back: %v", progress)
		}
	}
	if len(progress) < 3 || progress[len(progress)-1] != 100 {
		t.Errorf("progress events %v: want several, rising to 100", progress)
	}
	if v := testpeer.ProbeVideo(t, filepath.Join(rec, "small.mp4")); v.Width != 640 || v.Height != 360 || math.Abs(v.Seconds-20) > 0.1 || !v.Audio {
		t.Errorf("transcode: %+v, want 640x360, 20 s, with sound", v)
	}

	trim := submit(t, m, "trim", `{"input":"show.mp4","output":"cut.mp4","start":5,"end":8.5}`)
	vert := submit(t, m, "vertical", `{"input":"show.mp4","output":"tall.mp4","renditions":[{"width":360,"height":640,"preset":"ultrafast"}]}`)
	if err := os.WriteFile(filepath.Join(rec, "broken.mp4"), []byte(strings.Repeat("garbage ", 4096)), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := submit(t, m, "remux", `{"input":"broken.mp4"}`)
	if _, err := m.Client.SubmitJob(t.Context(), &pb.JobRequest{Kind: "trim", ParamsJson: `{"input":"show.mp4","start":15,"end":25}`}); err == nil ||
		!strings.Contains(err.Error(), "25.00 s is past the input's end (20.") {
		t.Errorf("a trim past the end: %v", err)
	}
	// With the default concurrency of 1, they run one after the other.
	runningNow := map[int64]bool{}
	waiting := map[int64]bool{trim.GetId(): true, vert.GetId(): true, bad.GetId(): true}
	for len(waiting) > 0 {
		j, err := watch.Recv()
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		runningNow[j.GetId()] = j.GetState() == "running"
		if n := count(runningNow); n > 1 {
			t.Fatalf("%d jobs running at once with jobs.concurrency 1", n)
		}
		if finished(j) {
			delete(waiting, j.GetId())
		}
	}
	if v := testpeer.ProbeVideo(t, filepath.Join(rec, "cut.mp4")); v.Width != 960 || math.Abs(v.Seconds-3.5) > 0.1 || v.Frames != 105 {
		t.Errorf("trim 5..8.5: %+v, want 3.5 s (105 frames) at 960x540", v)
	}
	if v := testpeer.ProbeVideo(t, filepath.Join(rec, "tall.mp4")); v.Width != 360 || v.Height != 640 || math.Abs(v.Seconds-20) > 0.1 {
		t.Errorf("vertical: %+v, want 360x640, 20 s", v)
	}
	if j, _ := m.Client.GetJob(t.Context(), &pb.JobID{Id: bad.GetId()}); j.GetState() != "failed" || !strings.Contains(j.GetError(), "Invalid data found") {
		t.Errorf("corrupt input: %v", j)
	}
	if w := child(m.Status(), "worker"); w.GetPid() != worker.GetPid() || w.GetRestarts() != 0 || w.GetState() != "running" {
		t.Errorf("the worker after the corrupt input: %v (was pid %d)", w, worker.GetPid())
	}
	if p := temps(rec); len(p) > 0 {
		t.Errorf("temporary files left: %v", p)
	}
}

// Killing the worker mid-transcode (SIGKILL) costs the job one attempt: it
// is run again and completes, and meanwhile the live stream to nginx skips
// no frame. Cancelling a running job stops the worker's work within 1 s and
// leaves no temporary file. It runs alone: the other tests' readers and
// masters would cost the live encode frames of their own.
func TestWorkerKilledMidJobAndCancel(t *testing.T) {
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	m, rec := jobMaster(t, 10, 640, 360, "-dest", nginx.URL("live", "onair"), "-live")
	m.Await("destination live", 15*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
	})
	m.Await("the live encode warmed up", 15*time.Second, func() bool { return m.Status().GetEncoder().GetEncodedFrames() >= 60 })
	skipped := m.Status().GetEncoder().GetSkippedFrames()
	worker := child(m.Status(), "worker")
	j := submit(t, m, "transcode", `{"input":"show.mp4","output":"again.mp4","renditions":[{"width":640,"height":360,"preset":"medium"}]}`)
	awaitJob(t, m, j.GetId(), 30*time.Second, running)
	if err := syscall.Kill(int(worker.GetPid()), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	done := awaitJob(t, m, j.GetId(), 90*time.Second, finished)
	if s := m.Status().GetEncoder().GetSkippedFrames(); s != skipped {
		t.Errorf("the live encode skipped %d frames while the worker worked", s-skipped)
	}
	if done.GetState() != "done" || done.GetAttempts() != 2 {
		t.Fatalf("after the worker was killed: %v, want done in 2 attempts", done)
	}
	if w := child(m.Status(), "worker"); w.GetRestarts() != 1 || w.GetPid() == worker.GetPid() {
		t.Errorf("worker after SIGKILL: %v", w)
	}
	if v := testpeer.ProbeVideo(t, filepath.Join(rec, "again.mp4")); v.Frames != 300 {
		t.Errorf("the retried transcode: %+v, want 300 frames", v)
	}

	c := submit(t, m, "transcode", `{"input":"show.mp4","output":"never.mp4","renditions":[{"width":640,"height":360,"preset":"veryslow"}]}`)
	awaitJob(t, m, c.GetId(), 30*time.Second, running)
	if len(temps(rec)) != 1 {
		t.Fatalf("a running job writes one temporary file, found %v", temps(rec))
	}
	asked := time.Now()
	if _, err := m.Client.CancelJob(t.Context(), &pb.JobID{Id: c.GetId()}); err != nil {
		t.Fatal(err)
	}
	// The worker removes its temporary file only once its work stopped.
	m.Await("the cancelled job's temporary file removed", 5*time.Second, func() bool { return len(temps(rec)) == 0 })
	if took := time.Since(asked); took > time.Second {
		t.Errorf("cancel took %v to stop the work, want at most 1 s", took)
	}
	if j, _ := m.Client.GetJob(t.Context(), &pb.JobID{Id: c.GetId()}); j.GetState() != "cancelled" {
		t.Errorf("cancelled job: %v", j)
	}
	if _, err := os.Stat(filepath.Join(rec, "never.mp4")); !os.IsNotExist(err) {
		t.Errorf("a cancelled job left its output: %v", err)
	}
}

// A master killed (SIGKILL) mid-job and started again finds the job in its
// database and runs it again; stopped (SIGTERM) mid-job and started again,
// it runs it to the end without counting that stop as an attempt: no job
// is left running, and no half-written file stays.
func TestMasterKilledMidJob(t *testing.T) {
	t.Parallel()
	m, rec := jobMaster(t, 10, 640, 360)
	j := submit(t, m, "transcode", `{"input":"show.mp4","output":"night.mp4","renditions":[{"width":640,"height":360,"preset":"medium"}]}`)
	awaitJob(t, m, j.GetId(), 30*time.Second, running)
	worker := child(m.Status(), "worker").GetPid()
	if err := m.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-m.Exited
	testpeer.Await(t, 10*time.Second, "the worker gone with its master", func() bool { return !alive(int(worker)) })
	os.Remove(filepath.Join(m.ConfigHome, "onair", control.EndpointFile))

	restart := func() *testpeer.Master {
		os.Remove(filepath.Join(m.ConfigHome, "onair", control.EndpointFile))
		return testpeer.StartMasterIn(t, binDir, m.ConfigHome, []string{"HOME=" + filepath.Dir(rec)},
			"-children", "encoder,worker", "-source", "pattern", "-width", "320", "-height", "180")
	}
	again := restart()
	list, err := again.Client.ListJobs(context.Background(), &pb.JobListRequest{})
	if err != nil || len(list.GetJobs()) != 1 {
		t.Fatalf("jobs after the restart: %v %v", list, err)
	}
	// Stopped on purpose (SIGTERM) while the job runs again: the job is
	// queued, and that stop costs it no attempt.
	awaitJob(t, again, j.GetId(), 30*time.Second, running)
	again.Stop()
	third := restart()
	done := awaitJob(t, third, j.GetId(), 90*time.Second, finished)
	if done.GetState() != "done" || done.GetAttempts() != 2 {
		t.Fatalf("the job after a killed and a stopped master: %v, want done in 2 attempts", done)
	}
	if v := testpeer.ProbeVideo(t, filepath.Join(rec, "night.mp4")); v.Frames != 300 {
		t.Errorf("the job's output: %+v, want 300 frames", v)
	}
	if p := temps(rec); len(p) > 0 {
		t.Errorf("temporary files left: %v", p)
	}
}

// jobs.concurrency sets how many jobs the worker runs at once: with 2, two
// transcodes run side by side (the default, 1, runs them one after the
// other, as TestWorkerJobs's queue shows).
func TestJobConcurrency(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("jobs: {concurrency: 2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _ := jobMaster(t, 10, 640, 360, "-config", cfg)
	params := `{"input":"show.mp4","renditions":[{"width":640,"height":360,"preset":"slower"}]}`
	a, b := submit(t, m, "transcode", params), submit(t, m, "transcode", params)
	m.Await("both jobs running at once", 30*time.Second, func() bool {
		ja, _ := m.Client.GetJob(t.Context(), &pb.JobID{Id: a.GetId()})
		jb, _ := m.Client.GetJob(t.Context(), &pb.JobID{Id: b.GetId()})
		return ja.GetState() == "running" && jb.GetState() == "running"
	})
	for _, j := range []*pb.Job{a, b} {
		if _, err := m.Client.CancelJob(t.Context(), &pb.JobID{Id: j.GetId()}); err != nil {
			t.Fatal(err)
		}
	}
}
