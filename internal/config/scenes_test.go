package config

import (
	"strings"
	"testing"
)

// Named scenes load in order with their layers; the first is on air unless
// program names another.
func TestScenesLoad(t *testing.T) {
	path := writeConfig(t, `scenes:
  program: Just chatting
  list:
    - name: Starting soon
      layers:
        - {name: card, source: "color:#102030"}
    - name: Just chatting
      layers:
        - {name: screen, source: pattern}
        - {name: cam, source: "color:#ff0000", x: 900, y: 500, width: 320, height: 180, hidden: true}
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Scenes
	if len(s.List) != 2 || s.OnAir().Name != "Just chatting" || len(s.OnAir().Layers) != 2 {
		t.Fatalf("scenes %+v", s)
	}
	if cam := s.OnAir().Layers[1]; cam.Name != "cam" || !cam.Hidden || cam.Width != 320 {
		t.Errorf("layer %+v", cam)
	}
	s.Program = ""
	if s.OnAir().Name != "Starting soon" {
		t.Errorf("without program the first scene is on air, got %q", s.OnAir().Name)
	}
}

// Bad scene data is refused with FILE:LINE: KEY and what is wrong.
func TestScenesRefused(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"duplicate name", "scenes:\n  list:\n    - {name: BRB}\n    - {name: BRB}\n", `:4: scenes.list.1.name: "BRB": scene names are unique`},
		{"no name", "scenes:\n  list:\n    - {name: \"\"}\n", `:3: scenes.list.0.name: a scene needs a name`},
		{"missing file", "scenes:\n  list:\n    - name: BRB\n      layers:\n        - {source: \"image:/no/such/brb.png\"}\n",
			`:5: scenes.list.0.layers.0.source: open /no/such/brb.png`},
		{"huge layer", "scenes:\n  list:\n    - name: BRB\n      layers:\n        - {source: pattern, width: 20000}\n",
			`:5: scenes.list.0.layers.0.width: 20000x0 is not a layer size`},
		{"zero width", "scenes:\n  list:\n    - name: BRB\n      layers:\n        - {source: pattern, width: 0, height: 180}\n",
			`:5: scenes.list.0.layers.0.width: 0 is not a layer size (1 to 16384; leave width out for the output's)`},
		{"zero height", "scenes:\n  list:\n    - name: BRB\n      layers:\n        - source: pattern\n          height: 0\n",
			`:6: scenes.list.0.layers.0.height: 0 is not a layer size`},
		{"huge height", "scenes:\n  list:\n    - name: BRB\n      layers:\n        - {source: pattern, height: 16385}\n",
			`:5: scenes.list.0.layers.0.width: 0x16385 is not a layer size (each side 1 to 16384)`},
		{"unreadable font", "scenes:\n  list:\n    - name: BRB\n      layers:\n        - {source: \"text:{font=/no/such.ttf}Back soon\"}\n",
			`:5: scenes.list.0.layers.0.source: font: open /no/such.ttf`},
		{"bad text option", "scenes:\n  list:\n    - name: BRB\n      layers:\n        - {source: \"text:{size=0}Back soon\"}\n",
			`:5: scenes.list.0.layers.0.source: source "text:{size=0}Back soon": size "0" is not a number of pixels 4..1024`},
		{"crop larger than the source", "encoder:\n  width: 640\n  height: 360\nscenes:\n  list:\n    - name: BRB\n      layers:\n        - {source: pattern, width: 100, crop: {left: 60, right: 40}}\n",
			`:8: scenes.list.0.layers.0.crop: 60,0,40,0 (left, top, right, bottom) is larger than the 100x360 source`},
		{"unknown plugin", "scenes:\n  list:\n    - name: BRB\n      layers:\n        - {source: \"plugin:clock\"}\n",
			`:5: scenes.list.0.layers.0.source: no plugin named "clock" in plugins.list`},
		{"missing media file", "scenes:\n  list:\n    - name: BRB\n      layers:\n        - {source: \"file:{once}/no/such/intro.mp4\"}\n",
			`:5: scenes.list.0.layers.0.source: media file /no/such/intro.mp4 does not exist`},
		{"media file a folder", "scenes:\n  list:\n    - name: BRB\n      layers:\n        - {source: \"file:/tmp\"}\n",
			`:5: scenes.list.0.layers.0.source: media file /tmp is not a file`},
		{"missing webcam", "scenes:\n  list:\n    - name: BRB\n      layers:\n        - {source: \"webcam:{size=1280x720 fps=30 format=mjpeg}/dev/video-none\"}\n",
			`:5: scenes.list.0.layers.0.source: webcam device /dev/video-none does not exist`},
		{"webcam not a device", "scenes:\n  list:\n    - name: BRB\n      layers:\n        - {source: \"webcam:/dev/shm\"}\n",
			`:5: scenes.list.0.layers.0.source: webcam device /dev/shm is not a device`},
		{"unknown program", "scenes:\n  program: Game\n  list:\n    - {name: BRB}\n", `:2: scenes.program: "Game" is not a scene`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeConfig(t, c.body)
			if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path+c.want) {
				t.Fatalf("error %v, want %q", err, path+c.want)
			}
		})
	}
}

// Hotkeys load in order; a bad key, an unknown action, a key bound twice
// or a scene that does not exist is refused with FILE:LINE: KEY.
func TestHotkeys(t *testing.T) {
	path := writeConfig(t, `scenes:
  list:
    - {name: BRB}
hotkeys:
  - {key: Alt+F9, action: "scene:BRB"}
  - {key: ctrl+shift+g, action: live}
  - {key: Alt+M, action: "mute:mic"}
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Hotkeys) != 3 || cfg.Hotkeys[0] != (Hotkey{Key: "Alt+F9", Action: "scene:BRB"}) {
		t.Errorf("hotkeys %+v", cfg.Hotkeys)
	}
	for _, c := range []struct{ name, body, want string }{
		{"unknown action", "hotkeys:\n  - {key: Alt+F9, action: golive}\n", `:2: hotkeys.0.action: action "golive": want scene:NAME`},
		{"bad key", "hotkeys:\n  - {key: Ctrl+Banana, action: live}\n", `:2: hotkeys.0.key: key "Ctrl+Banana": "Banana" is not a key`},
		{"plain key", "hotkeys:\n  - {key: F9, action: live}\n", `:2: hotkeys.0.key: key "F9": needs Ctrl, Alt or Super`},
		{"bound twice", "hotkeys:\n  - {key: Alt+F9, action: live}\n  - {key: alt+f9, action: record}\n", `:3: hotkeys.1.key: Alt+F9 is bound twice`},
		{"no such scene", "hotkeys:\n  - {key: Alt+F9, action: \"scene:Game\"}\n", `:2: hotkeys.0.action: "Game" is not a scene`},
		{"bad mute source", "hotkeys:\n  - {key: Alt+F9, action: \"mute:webcam\"}\n", `:2: hotkeys.0.action: action "mute:webcam": audio source "webcam"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeConfig(t, c.body)
			if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path+c.want) {
				t.Errorf("got %v, want %s%s", err, path, c.want)
			}
		})
	}
}
