package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/onair-studio/onair/stub/pb"
)

// filterRig is a studio whose scene has a "cam" layer over the pattern.
func filterRig(t *testing.T, filters ...*pb.FilterEntry) *rig {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.Scene = []*pb.Layer{{Source: "pattern", Opacity: 1}, {Name: "cam", Source: "color:#00ff00", Opacity: 1}}
		st.FilterList = filters
	})
	r.await("the cam layer and the program's Add filter", func() bool {
		return r.studio.scene.addFilter["cam"] != nil && r.studio.scene.addFilter[""] != nil &&
			len(r.studio.scene.filterButtons) == len(filters)
	})
	return r
}

// filterNames are the desired filters as the window last saw them, as
// "name@layer" in order.
func filterNames(st *pb.MasterStatus) string {
	var out []string
	for _, f := range st.GetFilterList() {
		out = append(out, f.GetName()+"@"+f.GetLayer())
	}
	return strings.Join(out, " ")
}

// Adding a filter to a layer sends the whole list with the new one last,
// on that layer, and the layer's row lists it; a name taken is refused
// before anything is sent.
func TestLayerPanelAddsFilter(t *testing.T) {
	r := filterRig(t, &pb.FilterEntry{Name: "hide", Binary: "redact"})
	f := newFilterForm(r.studio, "cam")
	f.show()
	f.name.entry.SetText("hide")
	if !f.name.msg.Visible() || !f.form.save.Disabled() {
		t.Fatal("a filter name already taken was accepted")
	}
	f.name.entry.SetText("key")
	f.binary.entry.SetText("chromakey")
	test.Tap(f.form.save)
	r.await("the cam's new filter listed", func() bool {
		return hasLabel(r.studio.scene.layers, "Filters: key (chromakey")
	})
	want := `SetFilters filters:{name:"hide" binary:"redact"} filters:{name:"key" binary:"chromakey" layer:"cam"}`
	if got := strings.Join(strings.Fields(r.master.called("SetFilters")), " "); got != want {
		t.Fatalf("call %s\nwant %s", got, want)
	}
	if r.studio.scene.filterButtons["key"] == nil {
		t.Fatal("the new filter has no buttons")
	}
}

// When the master refuses a filter, the dialog stays open with its reason,
// and the list is unchanged.
func TestLayerPanelShowsFilterRefusal(t *testing.T) {
	r := filterRig(t)
	f := newFilterForm(r.studio, "")
	f.show()
	f.name.entry.SetText("blur")
	f.binary.entry.SetText("nosuch")
	test.Tap(f.form.save)
	r.await("the refusal in the dialog", func() bool {
		return f.refused.Visible() && strings.Contains(f.refused.Text, `no plugin "nosuch" in the plugins directory`)
	})
	if !strings.Contains(r.studio.message.Text, "nosuch") {
		t.Errorf("window message %q", r.studio.message.Text)
	}
	if len(r.studio.status.GetFilterList()) != 0 {
		t.Fatalf("filters after a refusal: %s", filterNames(r.studio.status))
	}
}

// Moving a filter swaps it with its neighbour on the same layer, leaving
// other layers' filters in place; removing one sends the list without it.
func TestLayerPanelMovesAndRemovesFilters(t *testing.T) {
	r := filterRig(t, &pb.FilterEntry{Name: "key", Layer: "cam"}, &pb.FilterEntry{Name: "hide"},
		&pb.FilterEntry{Name: "grade", Layer: "cam"})
	b := r.studio.scene.filterButtons
	if !b["key"].up.Disabled() || !b["grade"].down.Disabled() || b["key"].down.Disabled() {
		t.Fatal("the ends of the cam's filters can move past them")
	}
	test.Tap(b["grade"].up)
	r.await("grade before key", func() bool { return filterNames(r.studio.status) == "grade@cam hide@ key@cam" })
	r.await("the row follows", func() bool {
		return hasLabel(r.studio.scene.layers, "Filters: grade (grade, not attached: airs unfiltered), then key")
	})
	test.Tap(r.studio.scene.filterButtons["hide"].remove)
	r.await("hide removed", func() bool { return filterNames(r.studio.status) == "grade@cam key@cam" })
	r.await("the program lists none", func() bool { return hasLabel(r.studio.scene.program, "Program filters: none") })
}

// The parameters form checks each value against the plugin's schema and
// sends only what was set through SetFilterParams; a filter whose plugin
// reports no schema takes name=value lines, and a refusal shows its
// reason.
func TestLayerPanelSetsFilterParams(t *testing.T) {
	r := filterRig(t, &pb.FilterEntry{Name: "key", Binary: "chromakey", Layer: "cam"})
	r.master.set(func(st *pb.MasterStatus) {
		st.Plugins = []*pb.PluginState{{Name: "key", Kind: "filter", Binary: "chromakey", State: "running", Schema: []*pb.PluginParam{
			{Name: "similarity", Type: "float", Default: "0.4", Min: "0", Max: "1"},
			{Name: "color", Type: "string", Default: "#00ff00"}}}}
	})
	r.await("the key's schema", func() bool { return len(r.studio.status.GetPlugins()) == 1 })
	f := newFilterParamsForm(r.studio, "key")
	f.show()
	f.params["similarity"].entry.SetText("2")
	if !f.params["similarity"].msg.Visible() || !f.form.save.Disabled() {
		t.Fatal("similarity 2 accepted against a 0..1 schema")
	}
	f.params["similarity"].entry.SetText("0.3")
	test.Tap(f.form.save)
	r.await("SetFilterParams", func() bool { return r.master.called("SetFilterParams") != "" })
	want := `SetFilterParams name:"key" params:{key:"similarity" value:"0.3"}`
	if got := strings.Join(strings.Fields(r.master.called("SetFilterParams")), " "); got != want {
		t.Fatalf("call %s\nwant %s", got, want)
	}
	r.await("the value in the desired list", func() bool {
		return r.studio.status.GetFilterList()[0].GetParams()["similarity"] == "0.3"
	})

	g := newFilterParamsForm(r.studio, "gone")
	g.show()
	g.lines.entry.SetText("junk")
	if !g.lines.msg.Visible() || !g.form.save.Disabled() {
		t.Fatal("a line without = was accepted")
	}
	g.lines.entry.SetText("level = 3")
	test.Tap(g.form.save)
	r.await("the refusal in the dialog", func() bool {
		return g.refused.Visible() && strings.Contains(g.refused.Text, `no filter named "gone"`)
	})
	calls := r.master.Calls()
	if last := strings.Join(strings.Fields(calls[len(calls)-1]), " "); last != `SetFilterParams name:"gone" params:{key:"level" value:"3"}` {
		t.Fatalf("calls %v", r.master.Calls())
	}
}

// A mixer strip adds a sound filter to its source and removes it, through
// the same SetFilters as the layer panel.
func TestMixerStripAddsAndRemovesSoundFilter(t *testing.T) {
	r := newRig(t)
	p := r.studio.audio
	r.await("the strips' Add filter", func() bool {
		return p.addFilter["sound:mic"] != nil && p.addFilter["sound:desktop"] != nil
	})
	f := newFilterForm(r.studio, "sound:mic")
	f.show()
	f.name.entry.SetText("gate")
	f.binary.entry.SetText("noisegate")
	test.Tap(f.form.save)
	r.await("the mic's filter listed with its buttons", func() bool {
		return strings.Contains(p.rows[0].state.Text, "Filters: gate (noisegate") && p.filterButtons["gate"] != nil
	})
	if got := filterNames(r.studio.status); got != "gate@sound:mic" {
		t.Fatalf("filters %s", got)
	}
	test.Tap(p.filterButtons["gate"].remove)
	r.await("the gate removed", func() bool { return len(r.studio.status.GetFilterList()) == 0 })
	r.await("the strip lists none", func() bool { return !strings.Contains(p.rows[0].state.Text, "Filters") })
}
