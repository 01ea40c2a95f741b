package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Bad job parameters are refused at submit, each with what is wrong and
// where: a missing file, a path out of the recordings directory (by .. or
// by a symlink), a size of zero, an unknown kind, times that are no span;
// and `ctl jobs` lists what was done, a replay save watched to its end.
func TestJobsRefuseBadInputAndWatchReplay(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	recordings := filepath.Join(home, "onair-recordings")
	os.MkdirAll(recordings, 0o755)
	os.WriteFile(filepath.Join(recordings, "show.mp4"), []byte("not yet media"), 0o644)
	outside := filepath.Join(t.TempDir(), "private.mp4")
	os.WriteFile(outside, []byte("x"), 0o644)
	os.Symlink(outside, filepath.Join(recordings, "link.mp4"))

	escape, _ := filepath.Rel(recordings, outside)
	m := startMaster(t, []string{"HOME=" + home}, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180")
	for _, c := range []struct{ kind, params, want string }{
		{"remux", `{"input":"gone.mp4"}`, "gone.mp4: "},
		{"remux", `{"input":"` + escape + `"}`, "outside the recordings directory"},
		{"remux", `{"input":"link.mp4"}`, "outside the recordings directory"},
		{"remux", `{"input":"show.mp4","output":"../out.mp4"}`, "outside the recordings directory"},
		{"transcode", `{"input":"show.mp4","renditions":[{"width":0,"height":360}]}`, "renditions[0]: size 0x360"},
		{"trim", `{"input":"show.mp4","start":8,"end":3}`, "start, end"},
		{"shrink", `{"input":"show.mp4"}`, `unknown job kind "shrink"`},
		// Good parameters, but this master runs no worker child.
		{"remux", `{"input":"show.mp4"}`, "runs no worker child"},
	} {
		out, err := m.Ctl("jobs", "submit", c.kind, c.params)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("submit %s %s: %v\n%s\nwant an error saying %q", c.kind, c.params, err, out, c.want)
		}
	}

	m.Await("pictures in the replay buffer", 20*time.Second, func() bool { return m.Status().GetReplay().GetHeldMs() >= 2000 })
	out, err := m.Ctl("replay", "save", "-o", "whole.mp4")
	if err != nil {
		t.Fatalf("replay save: %v\n%s", err, out)
	}
	if out, err := m.Ctl("jobs", "watch", "1"); err != nil || !strings.Contains(out, "job 1 done") {
		t.Fatalf("jobs watch 1: %v\n%s", err, out)
	}
	out, err = m.Ctl("jobs")
	if err != nil || !regexpMatch(`(?m)^1\s+replay\s+done\s+100%\s+1\s+\S+whole\.mp4`, out) {
		t.Fatalf("jobs: %v\n%s", err, out)
	}
	if out, err := m.Ctl("replay", "save", "-o", "whole.mp4"); err == nil || !strings.Contains(out, "exists") {
		t.Fatalf("a second save over the same name: %v\n%s", err, out)
	}
}

func regexpMatch(expr, s string) bool { return regexp.MustCompile(expr).MatchString(s) }
