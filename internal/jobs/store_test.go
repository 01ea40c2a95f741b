package jobs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A job interrupted by crashes is queued again from the database after a
// restart, and failed with the reason after MaxAttempts; never left running.
func TestInterruptedJobRetriedThenFailed(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s := open(t, path)
	j, err := s.Submit(Remux, Params{Input: "a.mp4"}, "a-faststart.mp4")
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= MaxAttempts; attempt++ {
		got, ok, err := s.Claim(Remux)
		if err != nil || !ok || got.ID != j.ID || got.Attempts != attempt || got.State != Running {
			t.Fatalf("claim %d: %+v ok=%v err=%v", attempt, got, ok, err)
		}
		s.Close() // the process dies with the job running
		s = open(t, path)
		if n, err := s.Recover("the master stopped", Remux); err != nil || n != 1 {
			t.Fatalf("recover found %d, %v", n, err)
		}
		after, _ := s.Get(j.ID)
		want := Queued
		if attempt == MaxAttempts {
			want = Failed
		}
		if after.State != want || !strings.Contains(after.Error, "the master stopped") {
			t.Fatalf("after attempt %d: %s %q, want %s", attempt, after.State, after.Error, want)
		}
	}
}

func TestCancelAndFinish(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), FileName))
	a, _ := s.Submit(Trim, Params{Input: "a.mp4", End: 1}, "o.mp4")
	b, _ := s.Submit(Trim, Params{Input: "a.mp4", End: 1}, "p.mp4")
	if _, err := s.Cancel(a.ID); err != nil {
		t.Fatal(err)
	}
	got, ok, _ := s.Claim(Trim)
	if !ok || got.ID != b.ID {
		t.Fatalf("claimed %+v, want job %d (the other is cancelled)", got, b.ID)
	}
	watch, stop := s.Watch()
	defer stop()
	s.Progress(b.ID, 40, 0)
	s.Progress(b.ID, 30, 0) // never goes back
	s.Finish(b.ID, nil)
	var seen []int
	for len(seen) < 3 {
		seen = append(seen, (<-watch).Progress)
	}
	if seen[0] != 40 || seen[1] != 40 || seen[2] != 100 {
		t.Fatalf("progress seen %v", seen)
	}
	if _, err := s.Cancel(b.ID); err == nil {
		t.Fatal("a finished job was cancelled")
	}
	if _, err := s.Get(99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing job: %v", err)
	}
}

func TestParamsRefused(t *testing.T) {
	for _, c := range []struct {
		kind Kind
		json string
		want string
	}{
		{"zip", `{"input":"a.mp4"}`, "unknown job kind"},
		{Remux, `{}`, "input"},
		{Trim, `{"input":"a.mp4","start":5,"end":2}`, "start, end"},
		{Transcode, `{"input":"a.mp4","renditions":[{"width":0,"height":360}]}`, "size 0x360"},
		{Transcode, `{"input":"a.mp4"}`, "at least one size"},
		{Transcode, `{"input":"a.mp4","renditions":[{"width":640,"height":360,"preset":"warp"}]}`, "preset"},
		{Remux, `{"input":"a.mp4","colour":1}`, "unknown field"},
	} {
		_, err := ParseParams(c.kind, []byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want %q", c.kind, c.json, err, c.want)
		}
	}
}

func TestInsideRefusesEscapes(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(dir, "show.mp4"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(outside, "secret.mp4"), []byte("x"), 0o644)
	os.Symlink(filepath.Join(outside, "secret.mp4"), filepath.Join(dir, "link.mp4"))
	if _, err := Inside(dir, "show.mp4", true); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../" + filepath.Base(outside) + "/secret.mp4", "link.mp4", filepath.Join(outside, "secret.mp4")} {
		if _, err := Inside(dir, name, true); err == nil || !strings.Contains(err.Error(), "outside the recordings directory") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Inside(dir, "missing.mp4", true); err == nil || !strings.Contains(err.Error(), "missing.mp4") {
		t.Errorf("missing: %v", err)
	}
}

// An output is written whole or not at all: a failed write leaves neither
// the final name nor the temporary one.
func TestWriteAtomic(t *testing.T) {
	final := filepath.Join(t.TempDir(), "clip.mp4")
	err := WriteAtomic(final, func(f *os.File) error {
		if _, err := os.Stat(final); !os.IsNotExist(err) {
			t.Error("the final name exists before the output is complete")
		}
		f.WriteString("half")
		return errors.New("disk gone")
	})
	if err == nil {
		t.Fatal("no error")
	}
	if ents, _ := os.ReadDir(filepath.Dir(final)); len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
	if err := WriteAtomic(final, func(f *os.File) error { _, err := f.WriteString("whole"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(final); string(b) != "whole" {
		t.Fatalf("got %q", b)
	}
}

// RemoveTemps clears half-written outputs and nothing else: finished files
// and other hidden files stay.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"clip.mp4", ".clip.mp4" + PartSuffix, ".notes", "show" + PartSuffix} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	RemoveTemps(dir)
	var left []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if want := []string{".notes", "clip.mp4", "show" + PartSuffix}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
}

// Waiting sees a queued job of the kinds asked, and no longer once it is
// claimed; the outputs of a transcode are its output and one file per
// further rendition beside it.
func TestWaitingAndOutputs(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), FileName))
	j, err := s.Submit(Transcode, Params{Input: "a.mp4", Renditions: []Rendition{{Width: 1280, Height: 720}, {Width: 640, Height: 360}}}, "/r/a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if w, err := s.Waiting(Remux); w || err != nil {
		t.Errorf("a remux waits: %v %v", w, err)
	}
	if w, err := s.Waiting(Remux, Transcode); !w || err != nil {
		t.Errorf("the transcode does not wait: %v %v", w, err)
	}
	if _, ok, _ := s.Claim(Transcode); !ok {
		t.Fatal("not claimed")
	}
	if w, _ := s.Waiting(Transcode); w {
		t.Error("a claimed job still waits")
	}
	if got := strings.Join(Outputs(j), " "); got != "/r/a.mp4 /r/a-640x360.mp4" {
		t.Errorf("outputs %s", got)
	}
}

// A job released by a master that stops on purpose is queued again with
// the attempt it lost given back.
func TestReleasedJobKeepsItsAttempts(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), FileName))
	j, _ := s.Submit(Remux, Params{Input: "a.mp4"}, "b.mp4")
	for range MaxAttempts + 1 {
		if _, ok, err := s.Claim(Remux); !ok || err != nil {
			t.Fatalf("claim: %v %v", ok, err)
		}
		if err := s.Release(j.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.Get(j.ID); got.State != Queued || got.Attempts != 0 {
		t.Fatalf("after %d releases: %+v", MaxAttempts+1, got)
	}
}
