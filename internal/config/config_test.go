package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
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
		{"bad enum", "children: both\n", `:1: children: "both" is not one of all, encoder, plugins, worker`},
		{"bad child in a list", "children: encoder,nope\n", `:1: children: "nope" is not one of all, encoder, plugins, worker`},
		{"job concurrency", "jobs:\n  concurrency: 0\n", ":2: jobs.concurrency: 0 is outside 1..8"},
		{"replay length", "replay:\n  seconds: 601\n", ":2: replay.seconds: 601 is outside 1..600"},
		{"bad source", "encoder:\n  source: screen:0:1,2\n", ":2: encoder.source: source \"screen:0:1,2\""},
		{"bad address", "control:\n  listen: localhost\n", ":2: control.listen: \"localhost\" is not host:port"},
		{"SRT without RTMP", "rtmp_server:\n  listen: \"\"\n  srt_listen: 127.0.0.1:9000\n", ":3: rtmp_server.srt_listen: needs rtmp_server.listen"},
		{"bad SRT address", "rtmp_server:\n  srt_listen: 9000\n", ":2: rtmp_server.srt_listen: \"9000\" is not host:port"},
		{"syntax", "encoder:\n  fps: 30\n   width: 2\n", ":3: "},
		{"bad obs-websocket port", "obs_websocket:\n  listen: 99999\n", `:2: obs_websocket.listen: port "99999" is not a number`},
		{"bad metrics address", "metrics:\n  listen: a:b:c\n", `:2: metrics.listen: "a:b:c" is not host:port`},
		// A destination's name names its key file: ".." would be the parent
		// directory.
		{"dot-dot name", "destinations:\n  - {name: main, url: rtmp://a/live}\n  - {name: \"..\", url: rtmp://b/live}\n",
			`:3: destinations.1.name: ".." is not a name`},
		{"repeated name", "plugins:\n  list:\n    - {name: clock}\n    - {name: clock}\n", `:4: plugins.list.1.name: "clock": plugin names are unique`},
		{"filter named as a plugin", "plugins:\n  list:\n    - {name: key}\nfilters:\n  - {name: key, binary: chromakey}\n",
			`:5: filters.0.name: "key": filter and plugin names are unique together`},
		{"filter binary a path", "filters:\n  - name: key\n    binary: ../chromakey\n", `:3: filters.0.binary: `},
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

// Fifty changes at once, of different kinds, all end up in the file, and a
// reader meanwhile always sees a whole file: never an error, never the
// defaults, never a change taken back.
func TestConcurrentUpdatesKeepEverything(t *testing.T) {
	path := writeConfig(t, "plugins:\n  dir: /opt/onair/plugins\n  list:\n    - {name: clock}\nencoder:\n  fps: 25\n")
	stop := make(chan struct{})
	readerDone := make(chan error, 1)
	go func() {
		seen, reads := 0, 0
		for {
			select {
			case <-stop:
				if reads == 0 {
					readerDone <- errors.New("the reader never read")
				}
				readerDone <- nil
				return
			default:
			}
			c, err := Load(path)
			reads++
			switch {
			case err != nil:
				readerDone <- fmt.Errorf("read %d: %v", reads, err)
				return
			case c.Plugins.Dir != "/opt/onair/plugins" || c.Encoder.FPS != 25:
				readerDone <- fmt.Errorf("read %d saw the defaults: %+v", reads, c)
				return
			case len(c.Destinations) < seen:
				readerDone <- fmt.Errorf("read %d: %d destinations after %d", reads, len(c.Destinations), seen)
				return
			}
			seen = len(c.Destinations)
		}
	}()

	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("d%02d", i)
			errs <- Update(path, func(c *Config) {
				c.Destinations = append(c.Destinations, Destination{Name: name, URL: "rtmp://" + name + ".example/live"})
				switch i % 3 {
				case 1:
					c.Plugins.List = append(c.Plugins.List, Plugin{Name: "p" + name})
				case 2:
					c.Renditions = append(c.Renditions, Rendition{Name: "r" + name, Width: 320, Height: 180, BitrateKbps: 300})
				}
			})
		}()
	}
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := <-readerDone; err != nil {
		t.Fatal(err)
	}

	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Destinations) != n || len(c.Plugins.List) != 1+17 || len(c.Renditions) != 16 {
		t.Fatalf("after %d updates: %d destinations, %d plugins, %d renditions, want %d, 18, 16",
			n, len(c.Destinations), len(c.Plugins.List), len(c.Renditions), n)
	}
	if c.Plugins.Dir != "/opt/onair/plugins" || c.Encoder.FPS != 25 {
		t.Fatalf("settings lost: %+v", c)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp")); len(left) > 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

// A config file that was readable by others becomes private when OnAir
// saves it: it may hold stream keys the user wrote into it.
func TestSaveMakesAnOpenFilePrivate(t *testing.T) {
	path := writeConfig(t, "live: true\n")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Update(path, func(c *Config) { c.Encoder.FPS = 60 }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v after saving, want 0600", fi.Mode().Perm())
	}
	if c, err := Load(path); err != nil || !c.Live || c.Encoder.FPS != 60 {
		t.Fatalf("after saving: %+v, %v", c, err)
	}
}

// A symlinked config file stays a link; its target gets the change.
func TestSaveKeepsASymlink(t *testing.T) {
	target := writeConfig(t, "live: true\n")
	link := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Update(link, func(c *Config) { c.Encoder.FPS = 60 }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi, err)
	}
	if c, err := Load(target); err != nil || c.Encoder.FPS != 60 {
		t.Fatalf("target after saving: %+v, %v", c, err)
	}
}

// An opt-in listener given a bare port listens on loopback only.
func TestOptInBarePortIsLoopback(t *testing.T) {
	for in, want := range map[string]string{"": "", "4455": "127.0.0.1:4455", ":4455": "127.0.0.1:4455",
		"0.0.0.0:4455": "0.0.0.0:4455", "[::1]:9100": "[::1]:9100"} {
		if got := (OptIn{Listen: in}).Addr(); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
