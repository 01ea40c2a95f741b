package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

// ctlIn runs `master ctl` in dir with stdin, and returns its output and
// exit code.
func ctlIn(t *testing.T, m *testpeer.Master, dir, stdin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(m.BinDir, "master"), append([]string{"ctl"}, args...)...)
	cmd.Env, cmd.Dir, cmd.Stdin = m.Env, dir, strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("ctl %v: %v", args, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// `master ctl` answers truthfully: a command the master refuses exits
// non-zero saying why (never "master pid 0"), a number that does not fit is
// refused instead of wrapping into another one, an oversized snapshot is
// refused with the maximum, and a relative recording path is the caller's.
func TestCtlAnswersTruthfully(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180")
	m.AwaitConfigured(15*time.Second, "encoder")
	here := t.TempDir() // where the user runs ctl; the master runs elsewhere

	refused := func(wantCode int, want string, args ...string) {
		t.Helper()
		out, code := ctlIn(t, m, here, "sk_test_1\n", args...)
		if code != wantCode || !strings.Contains(out, want) || strings.Contains(out, "master pid") {
			t.Errorf("ctl %s: exit %d, output %q; want exit %d saying %q", strings.Join(args, " "), code, out, wantCode, want)
		}
	}
	refused(1, `no destination named "nosuch"`, "key", "set", "nosuch")
	refused(1, "no destination 99", "dest", "rm", "99")
	// 2^32 would wrap to destination 0 and remove it.
	refused(2, `destination "4294967296": want its number from status`, "dest", "rm", "4294967296")
	refused(2, `destination "4294967296": want its number from status`, "reconnect", "4294967296")
	if d := m.Status().GetDestinations(); len(d) != 1 {
		t.Errorf("destinations after refused removals: %v", d)
	}
	// 2^32 + 100 would wrap to 100 kbit/s.
	refused(2, "bitrate: 4294967396 kbit/s is outside 100..100000", "bitrate", "4294967396")
	refused(2, "bitrate: 99 kbit/s is outside 100..100000", "bitrate", "99")
	if kbps := m.Status().GetSettings().GetBitrateKbps(); kbps != 4500 {
		t.Errorf("bitrate after refused changes: %d kbit/s, want 4500 as before", kbps)
	}
	refused(1, "at most 640x360 (twice the 320x180 output)", "snapshot", "-o", "huge.png", "-size", "16384x16384")
	if _, err := os.Stat(filepath.Join(here, "huge.png")); err == nil {
		t.Error("a refused snapshot left a file")
	}

	// A relative recording path lands where ctl runs, not where the
	// master does.
	const name = "ctl-relative-recording.mp4"
	masterDir, err := os.Getwd() // StartMaster runs the master in the test's directory
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(masterDir, name)) })
	if out, code := ctlIn(t, m, here, "", "record", "-o", name); code != 0 {
		t.Fatalf("record: exit %d\n%s", code, out)
	}
	want := filepath.Join(here, name)
	m.Await("recording into the caller's directory", 15*time.Second, func() bool {
		r := m.Status().GetRecording()
		return r.GetPath() == want && r.GetFramesWritten() > 10
	})
	if out, code := ctlIn(t, m, here, "", "record", "stop"); code != 0 {
		t.Fatalf("record stop: exit %d\n%s", code, out)
	}
	if out, err := exec.Command("ffprobe", "-v", "error", want).CombinedOutput(); err != nil {
		t.Fatalf("the recording in the caller's directory does not read: %v\n%s", err, out)
	}
}
