package pluginhost

import (
	"testing"

	"github.com/onair-studio/onair/stub/pb"
)

// A reader that does not keep up gets only the latest message per plugin;
// repeats, stale sizes and other owners' removals are not sent.
func TestOverlaysMailbox(t *testing.T) {
	o := newOverlays()
	a, b := new(int), new(int) // owners
	slow, changed := o.subscribe(640, 360)
	if !changed {
		t.Fatal("first size not a change")
	}
	gen := o.target().gen
	for i := 0; i < 100; i++ {
		o.put("clock", a, gen, &pb.Overlay{Width: 1, Height: 1, Rgba: []byte{byte(i), 0, 0, 255}})
	}
	if o.put("clock", a, gen, &pb.Overlay{Width: 1, Height: 1, Rgba: []byte{99, 0, 0, 255}}) {
		t.Error("an unchanged overlay was published")
	}
	if o.put("clock", a, gen-1, &pb.Overlay{Width: 2, Height: 1, Rgba: make([]byte, 8)}) {
		t.Error("an overlay for an old size was published")
	}
	o.put("logo", b, gen, &pb.Overlay{Width: 1, Height: 1, Rgba: []byte{0, 0, 0, 0}})
	o.remove("logo", a) // not a's
	got := slow.take()
	if len(got) != 2 || got[0].Id != "clock" || got[0].Version != 100 || got[0].Rgba[0] != 99 || got[1].Id != "logo" {
		t.Fatalf("pending %v, want the latest clock (version 100) and logo", got)
	}

	// A watcher for another size: the first one hears the old overlays go;
	// the new one starts empty until plugins render again.
	fresh, changed := o.subscribe(1280, 720)
	if !changed {
		t.Fatal("new size not a change")
	}
	got = slow.take()
	if len(got) != 2 || !got[0].Removed || !got[1].Removed || got[0].Version != 101 {
		t.Fatalf("old watcher got %v, want both removed", got)
	}
	if got := fresh.take(); len(got) != 0 {
		t.Fatalf("new watcher got %v", got)
	}
	o.put("clock", a, o.target().gen, &pb.Overlay{Width: 1, Height: 1, Rgba: []byte{1, 1, 1, 255}})
	late, _ := o.subscribe(1280, 720)
	if got := late.take(); len(got) != 1 || got[0].Version != 102 {
		t.Fatalf("a late watcher got %v, want the current clock", got)
	}
}
