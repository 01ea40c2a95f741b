package ui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/onair-studio/onair/stub/pb"
)

// The window lists the scenes with the one on air highlighted; a click on
// another puts it on air through SwitchScene, and the highlight follows.
func TestSceneListSwitches(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.SceneNames, st.ProgramScene = []string{"Starting soon", "Game", "BRB"}, "Starting soon"
	})
	r.await("the scene list", func() bool { return len(r.studio.scene.sceneButton) == 3 })
	if b := r.studio.scene.sceneButton["Starting soon"]; b.Importance != widget.HighImportance {
		t.Error("the scene on air is not highlighted")
	}
	test.Tap(r.studio.scene.sceneButton["Game"])
	r.await("Game on air", func() bool {
		b := r.studio.scene.sceneButton["Game"]
		return b != nil && b.Importance == widget.HighImportance
	})
	if calls := strings.Join(r.master.Calls(), "\n"); !strings.Contains(calls, `SwitchScene name:"Game"`) {
		t.Errorf("calls:\n%s", calls)
	}
}

// In studio mode a click changes only the preview; Transition puts it on
// air, and the preview pane shows beside the program while the mode is on.
func TestStudioModeClickPreviewsThenTransition(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.SceneNames, st.ProgramScene = []string{"Starting soon", "Game", "BRB"}, "Game"
	})
	r.await("the scene list", func() bool { return len(r.studio.scene.sceneButton) == 3 })
	if r.studio.studio.content.Visible() || r.studio.scene.transition.Visible() {
		t.Fatal("the preview pane or Transition shows with studio mode off")
	}
	test.Tap(r.studio.scene.studioMode)
	r.await("studio mode on", func() bool {
		return r.studio.status.GetPreviewScene() == "Game" && r.studio.studio.content.Visible() && r.studio.scene.transition.Visible()
	})
	test.Tap(r.studio.scene.sceneButton["BRB"])
	r.await("BRB in the preview", func() bool { return r.studio.status.GetPreviewScene() == "BRB" })
	if r.studio.status.GetProgramScene() != "Game" {
		t.Fatalf("a click in studio mode changed the program to %q", r.studio.status.GetProgramScene())
	}
	if b := r.studio.scene.sceneButton["BRB"]; b.Importance != widget.WarningImportance {
		t.Error("the previewed scene is not marked")
	}
	test.Tap(r.studio.scene.transition)
	r.await("BRB on air", func() bool {
		return r.studio.status.GetProgramScene() == "BRB" && r.studio.status.GetPreviewScene() == "Game"
	})
	calls := strings.Join(r.master.Calls(), "\n")
	if strings.Contains(calls, "SwitchScene") || !strings.Contains(calls, `SetPreviewScene name:"BRB"`) || !strings.Contains(calls, "Transition") {
		t.Errorf("calls:\n%s", calls)
	}
	test.Tap(r.studio.scene.studioMode)
	r.await("studio mode off", func() bool {
		return r.studio.status.GetPreviewScene() == "" && !r.studio.studio.content.Visible()
	})
}

// press types a hotkey on the window.
func press(r *rig, key fyne.KeyName, mod fyne.KeyModifier) {
	r.win.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: key, Modifier: mod})
}

// Ctrl+N puts scene N on air (in studio mode, in the preview); Ctrl+T is
// the Transition.
func TestSceneHotkeys(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.SceneNames, st.ProgramScene = []string{"Starting soon", "Game", "BRB"}, "Starting soon"
	})
	r.await("the scene list", func() bool { return len(r.studio.scene.sceneButton) == 3 })
	r.loop.do(func() { press(r, "3", fyne.KeyModifierControl) })
	r.await("Ctrl+3 puts BRB on air", func() bool { return r.studio.status.GetProgramScene() == "BRB" })
	r.loop.do(func() { press(r, "9", fyne.KeyModifierControl) }) // no ninth scene: nothing
	r.master.set(func(st *pb.MasterStatus) { st.PreviewScene = "BRB" })
	r.await("studio mode on", func() bool { return r.studio.scene.studioOn })
	r.loop.do(func() { press(r, "2", fyne.KeyModifierControl) })
	r.await("Ctrl+2 previews Game", func() bool { return r.studio.status.GetPreviewScene() == "Game" })
	if r.studio.status.GetProgramScene() != "BRB" {
		t.Fatalf("a hotkey in studio mode changed the program to %q", r.studio.status.GetProgramScene())
	}
	r.loop.do(func() { press(r, fyne.KeyT, fyne.KeyModifierControl) })
	r.await("Ctrl+T puts Game on air", func() bool { return r.studio.status.GetProgramScene() == "Game" })
}

// A layer's Hide button hides it in place (the master gets the same stack
// with the layer hidden), and it then offers Show.
func TestLayerHideAndShow(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.Scene = []*pb.Layer{{Source: "pattern", Opacity: 1}, {Name: "cam", Source: "color:#ff0000", Width: 320, Height: 180, Opacity: 1}}
	})
	r.await("two layer rows", func() bool { return len(r.studio.scene.visibility) == 2 })
	test.Tap(r.studio.scene.visibility[1])
	r.await("the cam hidden", func() bool {
		sc := r.studio.status.GetScene()
		return len(sc) == 2 && sc[1].GetHidden() && !sc[0].GetHidden() && sc[1].GetName() == "cam"
	})
	r.await("Show offered", func() bool { b := r.studio.scene.visibility[1]; return b != nil && b.Text == "Show" })
	test.Tap(r.studio.scene.visibility[1])
	r.await("the cam shown", func() bool { return !r.studio.status.GetScene()[1].GetHidden() })
}

// drag drags the program preview's layer dragger from p by delta.
func drag(r *rig, p fyne.Position, by fyne.Delta) {
	d := r.studio.preview.drag
	r.loop.do(func() {
		d.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: p.AddXY(by.DX/2, by.DY/2)}, Dragged: fyne.Delta{DX: by.DX / 2, DY: by.DY / 2}})
		d.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: p.AddXY(by.DX, by.DY)}, Dragged: fyne.Delta{DX: by.DX / 2, DY: by.DY / 2}})
		d.DragEnd()
	})
}

// Dragging a layer in the program picture moves it; dragging its
// bottom-right corner resizes it (the picture is half the program's size,
// so window pixels count double).
func TestDragLayerInPreview(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.Scene = []*pb.Layer{{Source: "pattern", Opacity: 1}, {Name: "cam", Source: "color:#ff0000", X: 100, Y: 100, Width: 200, Height: 100, Opacity: 1}}
	})
	r.await("the scene", func() bool { return len(r.studio.status.GetScene()) == 2 })
	r.loop.do(func() { r.studio.preview.drag.Resize(fyne.NewSize(640, 360)) }) // 1280x720 program
	drag(r, fyne.NewPos(60, 60), fyne.Delta{DX: 50, DY: 25})
	r.await("the cam moved by 100,50", func() bool {
		l := r.studio.status.GetScene()[1]
		return l.GetX() == 200 && l.GetY() == 150 && l.GetWidth() == 200
	})
	// Its corner is now at 400,250 in the program, 200,125 in the window.
	drag(r, fyne.NewPos(198, 123), fyne.Delta{DX: 25, DY: 25})
	r.await("the cam resized by 50,50", func() bool {
		l := r.studio.status.GetScene()[1]
		return l.GetX() == 200 && l.GetY() == 150 && l.GetWidth() == 250 && l.GetHeight() == 150
	})
	if bg := r.studio.status.GetScene()[0]; bg.GetX() != 0 || bg.GetWidth() != 0 {
		t.Errorf("the background moved: %v", bg)
	}
}

// Ctrl+Shift+M mutes every sound source, and again unmutes them.
func TestMuteHotkey(t *testing.T) {
	r := newRig(t)
	r.await("the sources", func() bool { return len(r.studio.status.GetAudioSettings().GetSources()) == 2 })
	allMuted := func(want bool) func() bool {
		return func() bool {
			for _, s := range r.studio.status.GetAudioSettings().GetSources() {
				if s.GetMuted() != want {
					return false
				}
			}
			return true
		}
	}
	r.loop.do(func() { press(r, fyne.KeyM, fyne.KeyModifierControl|fyne.KeyModifierShift) })
	r.await("all muted", allMuted(true))
	r.loop.do(func() { press(r, fyne.KeyM, fyne.KeyModifierControl|fyne.KeyModifierShift) })
	r.await("all unmuted", allMuted(false))
}

// The master's keys replace the defaults they name: Alt+F9 puts BRB on air,
// Alt+M mutes the microphone alone, and Ctrl+1 (left unbound) still puts
// the first scene on air.
func TestConfiguredHotkeys(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.SceneNames, st.ProgramScene = []string{"Starting soon", "Game", "BRB"}, "Game"
		st.AudioSettings = &pb.AudioSettings{Sources: []*pb.AudioSource{{Source: "mic"}, {Source: "desktop"}}}
		st.Hotkeys = []*pb.Hotkey{{Key: "Alt+F9", Action: "scene:BRB"}, {Key: "Alt+M", Action: "mute:mic"}, {Key: "Ctrl+1", Action: "scene#1"}}
	})
	r.await("the scene list", func() bool { return len(r.studio.scene.sceneButton) == 3 && len(r.studio.shortcuts) == 3 })
	r.loop.do(func() { press(r, fyne.KeyF9, fyne.KeyModifierAlt) })
	r.await("Alt+F9 puts BRB on air", func() bool { return r.studio.status.GetProgramScene() == "BRB" })
	r.loop.do(func() { press(r, fyne.KeyM, fyne.KeyModifierAlt) })
	r.await("Alt+M mutes the microphone", func() bool {
		src := r.studio.status.GetAudioSettings().GetSources()
		return len(src) == 2 && src[0].GetMuted() && !src[1].GetMuted()
	})
	r.loop.do(func() { press(r, "1", fyne.KeyModifierControl) })
	r.await("Ctrl+1 puts the first scene on air", func() bool { return r.studio.status.GetProgramScene() == "Starting soon" })
	r.loop.do(func() { press(r, "2", fyne.KeyModifierControl) }) // not in the master's list: no longer bound
	if r.studio.status.GetProgramScene() != "Starting soon" {
		t.Errorf("an unbound key switched to %q", r.studio.status.GetProgramScene())
	}
}

// labels is every label's text under o.
func labels(o fyne.CanvasObject) []string {
	switch w := o.(type) {
	case *widget.Label:
		return []string{w.Text}
	case *fyne.Container:
		var out []string
		for _, c := range w.Objects {
			out = append(out, labels(c)...)
		}
		return out
	}
	return nil
}

func hasLabel(o fyne.CanvasObject, text string) bool {
	return slices.ContainsFunc(labels(o), func(l string) bool { return strings.Contains(l, text) })
}

// The layer panel lists each layer's filters in order, and the program's
// beside the overlays, saying which are attached now.
func TestLayerPanelListsFilters(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.Scene = []*pb.Layer{{Source: "pattern", Opacity: 1}, {Name: "cam", Source: "color:#00ff00", Opacity: 1}}
		st.FilterList = []*pb.FilterEntry{{Name: "key", Binary: "chromakey", Layer: "cam"},
			{Name: "grade", Binary: "lut", Layer: "cam"}, {Name: "hide", Binary: "redact"}}
		st.Encoder = &pb.EncoderStatus{Filters: []*pb.FilterStatus{{Name: "key", Attached: true}, {Name: "hide", Attached: true}}}
	})
	r.await("the cam's filters listed", func() bool {
		return hasLabel(r.studio.scene.layers, "Filters: key (chromakey, attached), then grade (lut, not attached")
	})
	r.await("the program's filter listed", func() bool {
		return hasLabel(r.studio.scene.program, "Program filters: hide (redact, attached)")
	})
}

// Places says where a window test should click: the scene buttons and
// Transition only while the Scene tab shows them, and a tap in the middle
// of a place lands on that button.
func TestPlacesLeadClicksToTheButtons(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.SceneNames, st.ProgramScene, st.PreviewScene = []string{"Starting soon", "Game", "BRB"}, "Game", "Game"
	})
	r.await("the scene list", func() bool { return len(r.studio.scene.sceneButton) == 3 })
	places := r.studio.Places()
	if _, ok := places["scene:BRB"]; ok || places["tabs"].Empty() {
		t.Fatalf("with the Destinations tab shown: %v", places)
	}
	r.studio.tabs.SelectIndex(1)
	places = r.studio.Places()
	if len(places) != 5 {
		t.Fatalf("with the Scene tab shown: %v", places)
	}
	tap := func(name string) {
		c := places[name].Bounds()
		mid := fyne.NewPos(float32(c.Min.X+c.Max.X)/2, float32(c.Min.Y+c.Max.Y)/2)
		test.TapCanvas(r.win.Canvas(), mid)
	}
	tap("scene:BRB")
	r.await("BRB in the preview", func() bool { return r.studio.status.GetPreviewScene() == "BRB" })
	tap("Transition")
	r.await("BRB on air", func() bool { return r.studio.status.GetProgramScene() == "BRB" })
}
