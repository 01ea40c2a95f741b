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
