// Package hotkey reads the window's key bindings: a key such as
// "Ctrl+Shift+L" and an action such as "scene:BRB". It is pure Go, so the
// config checks bindings without the window's libraries, and the window
// reads the same strings.
package hotkey

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/onair-studio/onair/internal/audiolimits"
)

// Key is a key with its modifiers.
type Key struct {
	// Mods are the modifiers held, in the order Ctrl, Shift, Alt, Super.
	Mods []string
	// Name is the key: A..Z, 0..9, F1..F12 or one of namedKeys.
	Name string
}

// Modifiers in the order a key is written with them.
var modifiers = []string{"Ctrl", "Shift", "Alt", "Super"}

// namedKeys are the keys beside letters, digits and F1..F12, named as the
// window's toolkit names them.
var namedKeys = []string{"Space", "Tab", "Return", "Escape", "BackSpace", "Delete", "Insert", "Home", "End",
	"PageUp", "PageDown", "Up", "Down", "Left", "Right"}

// ParseKey reads "Ctrl+Shift+L", "Alt+F9", "Super+1": modifiers (Ctrl,
// Shift, Alt, Super, any case) joined by + before one key. Ctrl, Alt or
// Super must be among them: the window reads a plain key, or Shift and a
// key, as typing.
func ParseKey(s string) (Key, error) {
	parts := strings.Split(s, "+")
	name := parts[len(parts)-1]
	var k Key
	for _, m := range parts[:len(parts)-1] {
		i := slices.IndexFunc(modifiers, func(x string) bool { return strings.EqualFold(x, m) })
		if i < 0 {
			return Key{}, fmt.Errorf("key %q: %q is not a modifier (want Ctrl, Shift, Alt or Super)", s, m)
		}
		if slices.Contains(k.Mods, modifiers[i]) {
			return Key{}, fmt.Errorf("key %q: %s given twice", s, modifiers[i])
		}
		k.Mods = append(k.Mods, modifiers[i])
	}
	slices.SortFunc(k.Mods, func(a, b string) int { return slices.Index(modifiers, a) - slices.Index(modifiers, b) })
	if !k.Has("Ctrl") && !k.Has("Alt") && !k.Has("Super") {
		return Key{}, fmt.Errorf("key %q: needs Ctrl, Alt or Super (a plain or Shift key is typing), e.g. Ctrl+%s", s, name)
	}
	switch up := strings.ToUpper(name); {
	case len(name) == 1 && (up[0] >= 'A' && up[0] <= 'Z' || up[0] >= '0' && up[0] <= '9'):
		k.Name = up
	case len(up) >= 2 && up[0] == 'F' && fkey(up[1:]):
		k.Name = up
	default:
		i := slices.IndexFunc(namedKeys, func(x string) bool { return strings.EqualFold(x, name) })
		if i < 0 {
			return Key{}, fmt.Errorf("key %q: %q is not a key (want a letter, a digit, F1..F12 or %s)", s, name, strings.Join(namedKeys, ", "))
		}
		k.Name = namedKeys[i]
	}
	return k, nil
}

func fkey(n string) bool {
	i, err := strconv.Atoi(n)
	return err == nil && i >= 1 && i <= 12 && strconv.Itoa(i) == n
}

// String is the key as ParseKey reads it, e.g. "Ctrl+Shift+L".
func (k Key) String() string { return strings.Join(append(slices.Clone(k.Mods), k.Name), "+") }

// Has reports whether the key is pressed with modifier m.
func (k Key) Has(m string) bool { return slices.Contains(k.Mods, m) }

// The actions a key can do.
const (
	Scene      = "scene"      // scene:NAME puts NAME on air (in studio mode: in the preview)
	SceneAt    = "scene#"     // scene#N: the Nth scene of the list (the default Ctrl+N keys)
	Transition = "transition" // studio mode's Transition
	Live       = "live"       // Go Live / Stop
	Record     = "record"     // Record / Stop
	Mute       = "mute"       // mute: every source (unmute when all are muted); mute:SOURCE one source
)

// Action is what a key does.
type Action struct {
	Kind string
	// Arg is a scene's name (Scene), an audio source (Mute, empty: all).
	Arg string
	// N is SceneAt's scene, from 1.
	N int
}

// ParseAction reads scene:NAME, scene#N, transition, live, record, mute
// or mute:SOURCE.
func ParseAction(s string) (Action, error) {
	kind, arg, hasArg := strings.Cut(s, ":")
	switch {
	case kind == Scene && arg != "":
		return Action{Kind: Scene, Arg: arg}, nil
	case strings.HasPrefix(s, SceneAt):
		n, err := strconv.Atoi(strings.TrimPrefix(s, SceneAt))
		if err != nil || n < 1 {
			return Action{}, fmt.Errorf("action %q: want scene#N with N from 1", s)
		}
		return Action{Kind: SceneAt, N: n}, nil
	case (kind == Transition || kind == Live || kind == Record) && !hasArg:
		return Action{Kind: kind}, nil
	case kind == Mute && !hasArg:
		return Action{Kind: Mute}, nil
	case kind == Mute:
		if _, err := audiolimits.ParseSource(arg); err != nil {
			return Action{}, fmt.Errorf("action %q: %v", s, err)
		}
		return Action{Kind: Mute, Arg: arg}, nil
	}
	return Action{}, fmt.Errorf("action %q: want scene:NAME, scene#N, transition, live, record, mute or mute:SOURCE", s)
}

// String is the action as ParseAction reads it.
func (a Action) String() string {
	switch {
	case a.Kind == SceneAt:
		return SceneAt + strconv.Itoa(a.N)
	case a.Arg != "":
		return a.Kind + ":" + a.Arg
	}
	return a.Kind
}

// Binding is a key and its action, as configured.
type Binding struct {
	Key    string
	Action string
}

// Defaults are the window's keys when the config binds none: Ctrl+1..9
// the scenes by their place in the list, Ctrl+T the Transition,
// Ctrl+Shift+L Go Live, Ctrl+Shift+R record, Ctrl+Shift+M mute all.
func Defaults() []Binding {
	b := []Binding{{"Ctrl+T", Transition}, {"Ctrl+Shift+L", Live}, {"Ctrl+Shift+R", Record}, {"Ctrl+Shift+M", Mute}}
	for i := 1; i <= 9; i++ {
		b = append(b, Binding{fmt.Sprintf("Ctrl+%d", i), fmt.Sprintf("%s%d", SceneAt, i)})
	}
	return b
}

// Merge is the bindings the window uses: the configured ones, then each
// default whose key the config does not take.
func Merge(configured []Binding) []Binding {
	taken := map[string]bool{}
	out := slices.Clone(configured)
	for _, b := range configured {
		if k, err := ParseKey(b.Key); err == nil {
			taken[k.String()] = true
		}
	}
	for _, d := range Defaults() {
		if !taken[d.Key] {
			out = append(out, d)
		}
	}
	return out
}
