package jobrun

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

// Each kind of run gives what was asked, as ffprobe decodes it: a remux
// the same media, a cut its span, a transcode its sizes, a vertical cut a
// 9:16 picture; all keep the sound.
func TestRunKinds(t *testing.T) {
	dir := t.TempDir()
	in := testpeer.MakeMP4(t, dir, "show.mp4", 4, 640, 360)
	out := func(name string) string { return filepath.Join(dir, name) }
	for _, c := range []struct {
		name    string
		spec    Spec
		w, h    int
		seconds float64
	}{
		{"remux", Spec{Outputs: []Output{{Path: out("remux.mp4")}}}, 640, 360, 4},
		{"trim", Spec{Start: 1, End: 2.5, Outputs: []Output{{Path: out("trim.mp4"), Width: 640, Height: 360, Preset: "ultrafast"}}}, 640, 360, 1.5},
		{"transcode", Spec{Outputs: []Output{{Path: out("small.mp4"), Width: 320, Height: 180, Kbps: 300, Preset: "ultrafast"}, {Path: out("tiny.mp4"), Width: 160, Height: 90, Preset: "ultrafast"}}}, 320, 180, 4},
		{"vertical", Spec{Vertical: true, Outputs: []Output{{Path: out("vertical.mp4"), Width: 202, Height: 360, Preset: "ultrafast"}}}, 202, 360, 4},
	} {
		c.spec.Input = in
		var last time.Duration
		err := Run(context.Background(), c.spec, func(done, total time.Duration) {
			if done < last {
				t.Errorf("%s: progress went back from %v to %v", c.name, last, done)
			}
			last = done
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		v := testpeer.ProbeVideo(t, c.spec.Outputs[0].Path)
		if v.Width != c.w || v.Height != c.h || math.Abs(v.Seconds-c.seconds) > 0.1 || !v.Audio {
			t.Errorf("%s: got %+v, want %dx%d, %.1f s, with sound", c.name, v, c.w, c.h, c.seconds)
		}
		if want := int(c.seconds * 30); math.Abs(float64(v.Frames-want)) > 1 {
			t.Errorf("%s: %d frames, want %d", c.name, v.Frames, want)
		}
	}
	if v := testpeer.ProbeVideo(t, out("tiny.mp4")); v.Width != 160 || v.Height != 90 {
		t.Errorf("second rendition: %+v", v)
	}
}

// A corrupt input fails with the demuxer's reason; a cancelled run stops.
func TestRunCorruptAndCancel(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.mp4")
	os.WriteFile(bad, []byte(strings.Repeat("not media ", 1000)), 0o644)
	err := Run(context.Background(), Spec{Input: bad, Outputs: []Output{{Path: filepath.Join(dir, "x.mp4")}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "Invalid data") {
		t.Fatalf("corrupt input: %v", err)
	}
	in := testpeer.MakeMP4(t, dir, "long.mp4", 20, 1280, 720)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 1)
	go func() { <-started; cancel() }()
	err = Run(ctx, Spec{Input: in, Outputs: []Output{{Path: filepath.Join(dir, "y.mp4"), Width: 1280, Height: 720, Preset: "medium"}}},
		func(done, _ time.Duration) {
			if done > 0 {
				select {
				case started <- struct{}{}:
				default:
				}
			}
		})
	if err != ErrCancelled {
		t.Fatalf("cancelled run: %v", err)
	}
	if info, err := Probe(in); err != nil || info.Width != 1280 || info.Duration < 19*time.Second {
		t.Fatalf("probe: %+v %v", info, err)
	}
}
