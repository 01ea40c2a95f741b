package main

import (
	"context"
	"regexp"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/stub/pb"
)

// stage finds a stage's figures in an encoder status.
func stage(e *pb.EncoderStatus, name string) *pb.StageTime {
	for _, s := range e.GetStages().GetStages() {
		if s.GetName() == name {
			return s
		}
	}
	return nil
}

// Status shows, per second, the time each stage takes per frame; the
// figures are plausible, a four times larger picture takes longer to
// encode, and `master ctl status` prints them on one line.
func TestStatusShowsStageTimes(t *testing.T) {
	t.Parallel()
	const fps = 30
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180",
		"-fps", "30", "-preset", "veryfast")
	m.AwaitConfigured(20*time.Second, "encoder")

	// The smallest encode time of a few seconds at 320x180: a busy machine
	// only ever makes a second slower.
	small := -1.0
	seen := 0
	var last *pb.StageTimes
	m.Await("three seconds of stage figures at 320x180", 30*time.Second, func() bool {
		e := m.Status().GetEncoder()
		st := e.GetStages()
		if st.GetFrames() == 0 || proto.Equal(st, last) {
			return false
		}
		last = st
		checkPlausible(t, e, fps)
		if enc := stage(e, "encode").GetMeanMs(); small < 0 || enc < small {
			small = enc
		}
		seen++
		return seen >= 3
	})

	out, err := m.Ctl("status")
	if err != nil {
		t.Fatalf("ctl status: %v\n%s", err, out)
	}
	line := regexp.MustCompile(`per frame, last second \(\d+ frames, \d+ skipped\), mean/max ms: capture [\d.]+/[\d.]+\*?, ` +
		`compose [\d.]+/[\d.]+\*?, convert [\d.]+/[\d.]+\*?, encode [\d.]+/[\d.]+\*?, send [\d.]+/[\d.]+\*?\n`)
	if !line.MatchString(out) {
		t.Errorf("ctl status has no line of stage times:\n%s", out)
	}

	settings := m.Status().GetSettings()
	settings.Width, settings.Height = 1280, 720
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := m.Client.SetEncoder(ctx, settings); err != nil {
		t.Fatal(err)
	}
	m.Await("encoding 1280x720 taking longer per frame than 320x180", 30*time.Second, func() bool {
		e := m.Status().GetEncoder()
		if e.GetConfig().GetWidth() != 1280 || e.GetStages().GetFrames() == 0 {
			return false
		}
		checkPlausible(t, e, fps)
		if stage(e, "encode").GetMeanMs() <= small {
			return false
		}
		t.Logf("encode per frame: %.2f ms at 320x180, %.2f ms at 1280x720", small, stage(e, "encode").GetMeanMs())
		return true
	})
}

// checkPlausible fails the test for stage figures no real second can have.
func checkPlausible(t *testing.T, e *pb.EncoderStatus, fps int) {
	t.Helper()
	st := e.GetStages()
	var names []string
	sum := 0.0
	for _, s := range st.GetStages() {
		names = append(names, s.GetName())
		if s.GetMeanMs() < 0 || s.GetMaxMs() < s.GetMeanMs() || s.GetMaxMs() > 1000 {
			t.Fatalf("stage %s: mean %.3f ms, max %.3f ms", s.GetName(), s.GetMeanMs(), s.GetMaxMs())
		}
		sum += s.GetMeanMs()
	}
	if want := []string{"capture", "compose", "convert", "encode", "send"}; !slices.Equal(names, want) {
		t.Fatalf("stages %v, want %v", names, want)
	}
	if stage(e, "encode").GetMeanMs() <= 0 || stage(e, "convert").GetMeanMs() <= 0 {
		t.Fatalf("a second of %d frames with no encode or convert time: %v", st.GetFrames(), st)
	}
	if st.GetFrames() > uint32(fps)+1 || sum > 1000 {
		t.Fatalf("%d frames in a second at %d fps, %.1f ms of work per frame", st.GetFrames(), fps, sum)
	}
}
