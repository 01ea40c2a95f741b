package encoder

import (
	"image"
	"testing"

	"github.com/onair-studio/onair/stub/pb"
)

// A filter taken out of the configuration bypasses the frames still
// composed with it and never connects again: a client nobody closes would
// hold its plugin's connection.
func TestClosedFilterNeverDials(t *testing.T) {
	f := &layerFilter{spec: &pb.FilterSpec{Name: "key", Socket: "/nonexistent/key.sock"}, deadline: 30}
	f.close()
	if f.Apply(image.NewRGBA(image.Rect(0, 0, 8, 8))) {
		t.Error("a closed filter filtered a frame")
	}
	if f.client != nil {
		t.Error("a closed filter dialled its plugin")
	}
}

// Filters the configuration still names are kept (with their connections
// and counters); the others are closed.
func TestReconcileFiltersKeepsUnchanged(t *testing.T) {
	cfg := &pb.EncoderConfig{Fps: 30, Filters: []*pb.FilterSpec{{Name: "a", Socket: "/x/a.sock"}, {Name: "b", Layer: "cam", Socket: "/x/b.sock"}}}
	first := reconcileFilters(nil, cfg)
	cfg.Filters = cfg.Filters[1:]
	second := reconcileFilters(first, cfg)
	if len(second) != 1 || second[0] != first[1] {
		t.Fatalf("kept %v of %v", second, first)
	}
	if !first[0].closed || first[1].closed {
		t.Error("the removed filter is not closed, or the kept one is")
	}
	cfg.Fps = 60 // a new deadline: a new filter
	if third := reconcileFilters(second, cfg); third[0] == second[0] || !second[0].closed {
		t.Error("a filter kept its deadline through a frame rate change")
	}
}

// A filter whose layer is "sound:SOURCE" goes to that source's mixer
// blocks, with a third of a block as its deadline, and never to the
// compositor.
func TestSoundFiltersGoToTheirSource(t *testing.T) {
	fs := reconcileFilters(nil, &pb.EncoderConfig{Fps: 30, Filters: []*pb.FilterSpec{
		{Name: "gate", Layer: "sound:mic", Socket: "/nonexistent/gate.sock"},
		{Name: "key", Layer: "cam", Socket: "/nonexistent/key.sock"},
	}})
	t.Cleanup(func() { reconcileFilters(fs, &pb.EncoderConfig{}) })
	sc := sceneFilters(fs)
	if len(sc.Layers) != 1 || len(sc.Layers["cam"]) != 1 || len(sc.Program) != 0 {
		t.Errorf("the compositor gets %+v, want only the cam filter", sc)
	}
	sound := soundFilters(fs)
	if len(sound) != 1 || len(sound["mic"]) != 1 || sound["mic"][0].spec.GetName() != "gate" {
		t.Errorf("the mixer gets %v, want the gate on mic", sound)
	}
	if d := fs[0].status().GetDeadlineUs(); d != 7111 {
		t.Errorf("a sound filter's deadline is %d us, want a third of 1024 samples at 48 kHz (7111)", d)
	}
	block := make([]float32, 2048)
	block[5] = 0.5
	if fs[0].ApplySound(block) || block[5] != 0.5 || fs[0].status().GetBypassed() != 1 {
		t.Errorf("a block with no plugin attached was not passed on untouched and counted bypassed: %+v", fs[0].status())
	}
}
