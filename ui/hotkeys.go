package ui

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/onair-studio/onair/internal/hotkey"
	"github.com/onair-studio/onair/stub/pb"
)

// hotkeyBinding is a window key and what it does.
type hotkeyBinding struct {
	key fyne.KeyName
	mod fyne.KeyModifier
	do  func(s *Studio)
}

// fyneKeys are the keys whose toolkit names differ from hotkey's.
var fyneKeys = map[string]fyne.KeyName{"PageUp": fyne.KeyPageUp, "PageDown": fyne.KeyPageDown}

var fyneMods = map[string]fyne.KeyModifier{"Ctrl": fyne.KeyModifierControl, "Shift": fyne.KeyModifierShift,
	"Alt": fyne.KeyModifierAlt, "Super": fyne.KeyModifierSuper}

// bindings turns the master's key list (the config's keys and the
// defaults they leave; the defaults alone before the first status) into
// the window's. A binding the window cannot read is left out: the master's
// config check refuses those.
func bindings(list []*pb.Hotkey) []hotkeyBinding {
	if len(list) == 0 {
		for _, b := range hotkey.Defaults() {
			list = append(list, &pb.Hotkey{Key: b.Key, Action: b.Action})
		}
	}
	var out []hotkeyBinding
	for _, h := range list {
		k, err := hotkey.ParseKey(h.GetKey())
		if err != nil {
			continue
		}
		a, err := hotkey.ParseAction(h.GetAction())
		if err != nil {
			continue
		}
		b := hotkeyBinding{key: fyne.KeyName(k.Name), do: action(a)}
		if n, ok := fyneKeys[k.Name]; ok {
			b.key = n
		}
		for _, m := range k.Mods {
			b.mod |= fyneMods[m]
		}
		out = append(out, b)
	}
	return out
}

// action is what the window does for a.
func action(a hotkey.Action) func(s *Studio) {
	switch a.Kind {
	case hotkey.Scene:
		return func(s *Studio) {
			if slices.Contains(s.status.GetSceneNames(), a.Arg) {
				s.scene.clicked(a.Arg)
			}
		}
	case hotkey.SceneAt:
		return func(s *Studio) {
			if names := s.status.GetSceneNames(); a.N <= len(names) {
				s.scene.clicked(names[a.N-1])
			}
		}
	case hotkey.Transition:
		return func(s *Studio) { s.scene.transition.OnTapped() }
	case hotkey.Live:
		return func(s *Studio) { s.live.toggleLive() }
	case hotkey.Record:
		return func(s *Studio) { s.live.toggleRecord() }
	}
	if a.Arg == "" {
		return func(s *Studio) { s.audio.change(muteAll) }
	}
	return func(s *Studio) { s.audio.change(func(st *pb.AudioSettings) { toggleMute(st, a.Arg) }) }
}

// bindHotkeys registers list's keys on the window's canvas, in place of
// the ones registered before; called again only when the list changes.
func (s *Studio) bindHotkeys(list []*pb.Hotkey) {
	w := s.opt.Window
	if w == nil || (s.keysBound && slices.EqualFunc(list, s.keyList, func(a, b *pb.Hotkey) bool {
		return a.GetKey() == b.GetKey() && a.GetAction() == b.GetAction()
	})) {
		return
	}
	for _, sc := range s.shortcuts {
		w.Canvas().RemoveShortcut(sc)
	}
	s.shortcuts, s.keyList, s.keysBound = nil, list, true
	for _, b := range bindings(list) {
		sc := &desktop.CustomShortcut{KeyName: b.key, Modifier: b.mod}
		w.Canvas().AddShortcut(sc, func(fyne.Shortcut) {
			if s.connected() {
				b.do(s)
			}
		})
		s.shortcuts = append(s.shortcuts, sc)
	}
}

// muteAll mutes every source, or unmutes them all when all are muted.
func muteAll(a *pb.AudioSettings) {
	mute := slices.ContainsFunc(a.GetSources(), func(s *pb.AudioSource) bool { return !s.GetMuted() })
	for _, s := range a.GetSources() {
		s.Muted = mute
	}
}

// toggleMute mutes or unmutes the source named src, listing it (as the
// sound of a media file layer is listed) when it is not yet.
func toggleMute(a *pb.AudioSettings, src string) {
	for _, s := range a.GetSources() {
		if s.GetSource() == src {
			s.Muted = !s.GetMuted()
			return
		}
	}
	if len(a.GetSources()) == 0 {
		a.Sources = []*pb.AudioSource{{Source: "auto"}}
	}
	a.Sources = append(a.Sources, &pb.AudioSource{Source: src, Muted: true})
}
