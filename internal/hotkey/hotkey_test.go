package hotkey

import (
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	for in, want := range map[string]string{
		"Ctrl+Shift+L": "Ctrl+Shift+L", "shift+ctrl+l": "Ctrl+Shift+L", "Alt+F9": "Alt+F9", "ctrl+f12": "Ctrl+F12",
		"Alt+1": "Alt+1", "Super+space": "Super+Space", "Ctrl+PageUp": "Ctrl+PageUp", "alt+x": "Alt+X",
	} {
		k, err := ParseKey(in)
		if err != nil || k.String() != want {
			t.Errorf("%q: got %v, %v; want %q", in, k, err, want)
		}
	}
	for in, want := range map[string]string{
		"":             "needs Ctrl, Alt or Super",
		"Ctrl+":        `"" is not a key`,
		"Hyper+A":      `"Hyper" is not a modifier`,
		"Ctrl+Ctrl+A":  "Ctrl given twice",
		"F9":           `key "F9": needs Ctrl, Alt or Super (a plain or Shift key is typing), e.g. Ctrl+F9`,
		"Shift+A":      "needs Ctrl, Alt or Super",
		"Ctrl+F13":     `"F13" is not a key`,
		"Alt+F01":      `"F01" is not a key`,
		"Ctrl+Banana":  `"Banana" is not a key`,
		"Ctrl+Shift+?": `"?" is not a key`,
	} {
		if _, err := ParseKey(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}

func TestParseAction(t *testing.T) {
	for _, in := range []string{"scene:Just chatting", "scene#3", "transition", "live", "record", "mute", "mute:mic", "mute:layer:intro"} {
		a, err := ParseAction(in)
		if err != nil || a.String() != in {
			t.Errorf("%q: got %+v, %v", in, a, err)
		}
	}
	for in, want := range map[string]string{
		"scene:":      "want scene:NAME",
		"scene#0":     "want scene#N",
		"golive":      "want scene:NAME",
		"live:now":    "want scene:NAME",
		"mute:webcam": `audio source "webcam"`,
	} {
		if _, err := ParseAction(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}

// A configured key replaces the default on the same key; the others stay.
func TestMerge(t *testing.T) {
	got := Merge([]Binding{{"ctrl+1", "scene:BRB"}, {"Alt+F9", "record"}})
	keys := map[string]string{}
	for _, b := range got {
		k, _ := ParseKey(b.Key)
		if _, dup := keys[k.String()]; dup {
			t.Fatalf("%s bound twice in %v", k, got)
		}
		keys[k.String()] = b.Action
	}
	if keys["Ctrl+1"] != "scene:BRB" || keys["Alt+F9"] != "record" || keys["Ctrl+2"] != "scene#2" || keys["Ctrl+Shift+R"] != "record" {
		t.Errorf("merged: %v", keys)
	}
	if len(Merge(nil)) != len(Defaults()) {
		t.Error("without configured keys the defaults are the keys")
	}
}
