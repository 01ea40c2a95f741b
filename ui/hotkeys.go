package ui

import (
	"fmt"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/onair-studio/onair/stub/pb"
)

// hotkey is a window key and what it does.
type hotkey struct {
	key  fyne.KeyName
	mod  fyne.KeyModifier
	what string
	do   func(s *Studio)
}

// hotkeys are the window's keys: Ctrl+1..9 put scene 1..9 on air (in studio
// mode: in the preview), Ctrl+T is Transition, Ctrl+Shift+L Go Live/Stop,
// Ctrl+Shift+R record/stop and Ctrl+Shift+M mutes every sound source (or,
// when all are muted, unmutes them).
func hotkeys() []hotkey {
	keys := []hotkey{
		{fyne.KeyT, fyne.KeyModifierControl, "Transition", func(s *Studio) { s.scene.transition.OnTapped() }},
		{fyne.KeyL, fyne.KeyModifierControl | fyne.KeyModifierShift, "Go Live / Stop", func(s *Studio) { s.live.toggleLive() }},
		{fyne.KeyR, fyne.KeyModifierControl | fyne.KeyModifierShift, "Record / Stop", func(s *Studio) { s.live.toggleRecord() }},
		{fyne.KeyM, fyne.KeyModifierControl | fyne.KeyModifierShift, "Mute / Unmute", func(s *Studio) { s.audio.change(muteAll) }},
	}
	for i := 1; i <= 9; i++ {
		n := i
		keys = append(keys, hotkey{fyne.KeyName(fmt.Sprint(n)), fyne.KeyModifierControl, fmt.Sprintf("Scene %d", n), func(s *Studio) {
			if names := s.status.GetSceneNames(); n <= len(names) {
				s.scene.clicked(names[n-1])
			}
		}})
	}
	return keys
}

// addHotkeys registers the hotkeys on the window's canvas.
func (s *Studio) addHotkeys(w fyne.Window) {
	for _, k := range hotkeys() {
		w.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: k.key, Modifier: k.mod}, func(fyne.Shortcut) {
			if s.connected() {
				k.do(s)
			}
		})
	}
}

// muteAll mutes every source, or unmutes them all when all are muted.
func muteAll(a *pb.AudioSettings) {
	mute := slices.ContainsFunc(a.GetSources(), func(s *pb.AudioSource) bool { return !s.GetMuted() })
	for _, s := range a.GetSources() {
		s.Muted = mute
	}
}
