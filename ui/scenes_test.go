package ui

import (
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
