package ui

import (
	"strings"
	"testing"

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
