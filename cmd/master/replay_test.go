package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/codec"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// While live to nginx, `ctl replay save -seconds 10` answers at once with a
// job and gives an MP4 that ffprobe decodes: moov first, a keyframe first,
// 10 ± 0.5 s long, and its pictures are the stream's own (the same
// capture-time SEIs, in order, none missing).
func TestReplaySaveWhileLive(t *testing.T) {
	t.Parallel()
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{Record: true})
	home := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("encoder: {keyframe_seconds: 1}\nreplay: {seconds: 20}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, []string{"HOME=" + home}, "-config", cfg, "-children", "encoder", "-source", "pattern",
		"-width", "320", "-height", "180", "-fps", "30", "-dest", nginx.URL("live", "onair"), "-live")
	m.Await("12 s in the replay buffer", 40*time.Second, func() bool {
		return m.Status().GetReplay().GetHeldMs() >= 12_000
	})
	if r := m.Status().GetReplay(); r.GetBytes() == 0 || r.GetBytes() > r.GetMaxBytes() || r.GetKeepMs() != 20_000 {
		t.Fatalf("replay memory and length (replay.seconds: 20) in status: %v", r)
	}
	out, err := m.Ctl("replay", "save", "-seconds", "10", "-o", "clip.mp4")
	if err != nil {
		t.Fatalf("replay save: %v\n%s", err, out)
	}
	id, err := strconv.ParseInt(regexp.MustCompile(`job (\d+)`).FindStringSubmatch(out)[1], 10, 64)
	if err != nil {
		t.Fatalf("no job id in %q", out)
	}
	var job *pb.Job
	m.Await("replay job done", 10*time.Second, func() bool {
		job, _ = m.Client.GetJob(t.Context(), &pb.JobID{Id: id})
		return job.GetState() == "done" || job.GetState() == "failed"
	})
	clip := filepath.Join(home, "onair-recordings", "clip.mp4")
	if job.GetState() != "done" || job.GetOutput() != clip {
		t.Fatalf("job: %v", job)
	}
	if b, _ := os.ReadFile(clip); len(b) < 8 || string(b[4:8]) != "ftyp" || strings.Index(string(b), "moov") > strings.Index(string(b), "mdat") {
		t.Fatal("not a faststart MP4 (ftyp, then moov before mdat)")
	}
	probe := func(args ...string) string {
		out, err := exec.Command("ffprobe", append([]string{"-v", "error"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ffprobe %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	dur, _ := strconv.ParseFloat(probe("-show_entries", "format=duration", "-of", "csv=p=0", clip), 64)
	if dur < 9.5 || dur > 10.5 {
		t.Errorf("the clip lasts %.2f s, want 10 ± 0.5", dur)
	}
	if first := probe("-select_streams", "v", "-show_entries", "frame=key_frame", "-read_intervals", "%+#1", "-of", "default=nw=1:nk=1", clip); first != "1" {
		t.Errorf("first frame key_frame=%s", first)
	}
	// The program carries sound (silence from the pattern source): so does the clip.
	if kinds := probe("-show_entries", "stream=codec_type", "-of", "default=nw=1:nk=1", clip); !strings.Contains(kinds, "audio") {
		t.Errorf("the clip has no sound track: %q", kinds)
	}
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", clip, "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("the clip does not decode cleanly: %v\n%s", err, out)
	}
	// The clip's pictures, by capture time, are a run of the stream's.
	captures := func(path string) []time.Time {
		annexb := filepath.Join(t.TempDir(), "v.h264")
		if out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-an", "-c:v", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264", annexb).CombinedOutput(); err != nil {
			t.Fatalf("extracting the pictures of %s: %v\n%s", path, err, out)
		}
		var ts []time.Time
		for _, au := range testpeer.ReadClip(t, annexb, 30) {
			if c, ok := codec.ParseCaptureTime(au.NALUs); ok {
				ts = append(ts, c)
			}
		}
		return ts
	}
	got := captures(clip)
	recs := nginx.Recordings()
	if len(recs) == 0 {
		t.Fatal("nginx recorded nothing")
	}
	sent := captures(recs[0])
	start := -1
	for i, c := range sent {
		if c.Equal(got[0]) {
			start = i
		}
	}
	if start < 0 || len(got) < 280 {
		t.Fatalf("the clip's first picture (of %d) is not one the stream carried (%d)", len(got), len(sent))
	}
	for i, c := range got {
		if start+i >= len(sent) || !sent[start+i].Equal(c) {
			t.Fatalf("picture %d of the clip differs from the stream's", i)
		}
	}
}
