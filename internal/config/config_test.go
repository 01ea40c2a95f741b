package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMissingFileGivesDefaults(t *testing.T) {
	cfg, err := Load(filepath.Join(t.TempDir(), "none.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Fatalf("got %+v, want defaults", cfg)
	}
}

func TestValuesOverDefaults(t *testing.T) {
	path := writeConfig(t, "control:\n  listen: 127.0.0.1:7100\nencoder:\n  fps: 60\n")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Control.Listen != "127.0.0.1:7100" || cfg.Encoder.FPS != 60 || cfg.Encoder.Width != 1280 {
		t.Fatalf("got %+v", cfg)
	}
}

// Every malformed file is refused with FILE:LINE: KEY: what is wrong.
func TestMalformedNamesFileLineAndKey(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"wrong type", "encoder:\n  width: 1280\n  fps: fast\n", ":3: encoder.fps: cannot unmarshal"},
		{"unknown key", "control:\n  listen: 127.0.0.1:7000\n  lisen: x\n", `:3: control.lisen: unknown key "lisen"`},
		{"out of range", "encoder:\n  height: 720\n\n  fps: 1000\n", ":4: encoder.fps: 1000 is outside 1..240"},
		{"bad enum", "children: both\n", `:1: children: "both" is not one of all, encoder, plugins`},
		{"bad source", "encoder:\n  source: screen:0:1,2\n", ":2: encoder.source: source \"screen:0:1,2\""},
		{"bad address", "control:\n  listen: localhost\n", ":2: control.listen: \"localhost\" is not host:port"},
		{"syntax", "encoder:\n  fps: 30\n   width: 2\n", ":3: "},
		// A destination's name names its key file: ".." would be the parent
		// directory.
		{"dot-dot name", "destinations:\n  - {name: main, url: rtmp://a/live}\n  - {name: \"..\", url: rtmp://b/live}\n",
			`:3: destinations.1.name: ".." is not a name`},
		{"repeated name", "plugins:\n  list:\n    - {name: clock}\n    - {name: clock}\n", `:4: plugins.list.1.name: "clock": plugin names are unique`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeConfig(t, c.body)
			_, err := Load(path)
			if err == nil {
				t.Fatal("malformed config accepted")
			}
			if !strings.Contains(err.Error(), path+c.want) {
				t.Fatalf("error %q does not contain %q", err, path+c.want)
			}
		})
	}
}

func TestDestinationsAndRenditions(t *testing.T) {
	path := writeConfig(t, `renditions:
  - {name: 360p, width: 640, height: 360, bitrate_kbps: 800}
destinations:
  - rtmp://a.example/live/k1
  - url: rtmp://b.example/live/k2
    rendition: 360p
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Destination{{URL: "rtmp://a.example/live/k1"}, {URL: "rtmp://b.example/live/k2", Rendition: "360p"}}
	if !reflect.DeepEqual(cfg.Destinations, want) || len(cfg.Renditions) != 1 || cfg.Renditions[0].Width != 640 {
		t.Fatalf("got %+v %+v", cfg.Destinations, cfg.Renditions)
	}
	for body, want := range map[string]string{
		"destinations:\n  - url: rtmp://x/live/k\n    rendition: 720p\n":               `:3: destinations.0.rendition: no rendition named "720p"`,
		"destinations:\n  - url: rtmp://x/live/k\n    rendtion: 720p\n":                `:3: destinations.0.rendtion: unknown key "rendtion"`,
		"renditions:\n  - {name: big, width: 3840, height: 2160, bitrate_kbps: 900}\n": ":2: renditions.0.width: 3840 is outside 16..1280",
	} {
		path := writeConfig(t, body)
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path+want) {
			t.Errorf("%q: error %v, want %q", body, err, want)
		}
	}
}

func TestSaveIsPrivateAndRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "onair", "config.yaml")
	cfg := Default()
	cfg.Encoder.BitrateKbps = 6000
	if err := Save(path, cfg); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := Load(path)
	if err != nil || !reflect.DeepEqual(got, cfg) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"main": true, "twitch-2": true, "360p": true, "ü": true,
		"": false, ".": false, "..": false, "a/b": false, `a\b`: false, "a b": false, "a\tb": false, "a\nb": false,
		strings.Repeat("x", 64): true, strings.Repeat("x", 65): false,
	} {
		if err := CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
