package config

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLoad feeds arbitrary bytes to Load as a config file. Run it with:
//
//	go test -run '^$' -fuzz '^FuzzLoad$' -fuzztime 20s ./internal/config
//
// Whatever the file holds, Load returns: either an error in which every
// part names the file (FILE:LINE: ..., the line inside the file), or a
// config that passes Validate, whose layer opacities are numbers in 0..1,
// and that Save writes and Load reads back unchanged (the master saves the
// file itself when destinations change, and must start from it again). A
// file of nothing but comments and blank lines is the defaults, as an empty
// one is.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"",
		"control:\n  listen: 127.0.0.1:7100\nencoder:\n  fps: 60\n",
		"control:\n  listen: 127.0.0.1:7000\n  tls: false\nmonitor:\n  listen: 127.0.0.1:8554\n" +
			"rtmp_server:\n  listen: 127.0.0.1:1935\ndestinations:\n  - rtmp://live.example.com/app/STREAM-KEY\n" +
			"live: false\nchildren: all\nheadless: false\nencoder:\n  source: auto\n  width: 1280\n  height: 720\n" +
			"  fps: 30\n  bitrate_kbps: 4500\n  keyframe_seconds: 2\n  backend: auto\n  preset: veryfast\nplugins:\n  dir: \"\"\n",
		"destinations:\n  - {name: twitch, service: twitch}\n  - {name: backup, service: custom, url: rtmp://ingest.example.com/live}\n" +
			"  - url: rtmp://relay.example.com/live/KEY\n    rendition: 720p\nrenditions:\n  - {name: 720p, width: 1280, height: 720, bitrate_kbps: 3000}\n",
		"plugins:\n  dir: bin/plugins\n  list:\n    - name: clock\n    - name: watermark\n      params: {opacity: \"0.6\"}\n",
		"encoder:\n  source: pattern\n  layers:\n    - {source: \"color:#ff8800\", x: 10, y: 20, width: 64, height: 64, opacity: 0.5}\n    - {source: pattern}\n",
		"record:\n  path: show-2006-01-02.mp4\nretry:\n  first: 500ms\n  max: 1m\n",
		"encoder:\n  width: 1280\n  fps: fast\n",
		"control:\n  listen: 127.0.0.1:7000\n  lisen: x\n",
		"encoder:\n  height: 720\n\n  fps: 1000\n",
		"children: both\n",
		"encoder:\n  source: screen:0:1,2\n",
		"control:\n  listen: localhost\n",
		"encoder:\n  fps: 30\n   width: 2\n",
		"destinations:\n  - [a, b]\n  - {name: x, colour: red}\n",
		"base: &b {fps: 25}\nencoder:\n  <<: *b\n",
		"encoder: {layers: [{source: pattern, opacity: 1.5}]}\n",
		"---\n# a\n---\nlive: true\n",
		"\ufeffheadless: true\r\n",
		"[]\n",
		"...\n",
		"audio:\n  bitrate_kbps: 160\n  volume_db: 0\n  sources:\n    - {source: mic, volume_db: -3}\n" +
			"    - {source: desktop, muted: false, offset_ms: 0}\n    - {source: \"pulse:alsa_input.usb-Blue_Yeti-00.analog-stereo\"}\n" +
			"    - {source: \"tone:1000\"}\n",
		"audio:\n  volume_db: .nan\n  sources: []\n",
		"audio:\n  sources:\n    - {source: auto, offset_ms: -2000}\n    - {source: \"tone:20000\", muted: true}\n",
		"audio: {bitrate_kbps: 64, sources: [{source: none}, {source: none}]}\n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "fuzz-config.yaml")
	saved := filepath.Join(dir, "saved", "config.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path)
		if err != nil {
			lines := lineCount(data)
			for _, e := range leaves(err) {
				if !strings.HasPrefix(e.Error(), path+":") {
					t.Fatalf("error %q does not begin with the file name", e)
				}
				var ce *Error
				if errors.As(e, &ce) && (ce.File != path || ce.Line < 1 || ce.Line > lines) {
					t.Fatalf("error %q points at %s:%d, outside the file's %d lines", e, ce.File, ce.Line, lines)
				}
			}
			if commentsOnly(data) {
				t.Fatalf("a file of comments and blank lines is refused: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("loaded, but Validate refuses it: %v", err)
		}
		for i, l := range cfg.Encoder.Layers {
			if o := l.Opacity; o != nil && !(*o >= 0 && *o <= 1) {
				t.Fatalf("layer %d loaded with opacity %v", i, *o)
			}
		}
		if commentsOnly(data) && !reflect.DeepEqual(cfg, Default()) {
			t.Fatalf("a file of comments and blank lines gave %+v, not the defaults", cfg)
		}
		if err := Save(saved, cfg); err != nil {
			t.Fatalf("saving a config that loaded: %v", err)
		}
		again, err := Load(saved)
		if err != nil {
			text, _ := os.ReadFile(saved)
			t.Fatalf("a saved config does not load again: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(normalize(again), normalize(cfg)) {
			text, _ := os.ReadFile(saved)
			t.Fatalf("saved and loaded again, the config changed:\n was %+v\n now %+v\n file:\n%s", cfg, again, text)
		}
	})
}

// lineCount counts lines as YAML does: CR LF, CR, LF, NEL, LS and PS each
// end one, and the text after the last break is a line too.
func lineCount(data []byte) int {
	n := 1
	s := string(data)
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			n++
		case s[i] == '\n':
			n++
		case strings.HasPrefix(s[i:], "\u0085"), strings.HasPrefix(s[i:], "\u2028"), strings.HasPrefix(s[i:], "\u2029"):
			n++
		}
	}
	return n
}

// leaves flattens errors.Join trees into their single errors.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// commentsOnly reports whether every line is blank or a comment of
// characters YAML allows (a control character is an error even in a
// comment), indented with spaces (yaml.v3 refuses a tab outside a comment).
func commentsOnly(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimLeft(strings.TrimSuffix(line, "\r"), " ")
		if line != "" && !strings.HasPrefix(line, "#") {
			return false
		}
		for _, r := range line {
			// YAML's printable characters, less the ones it takes for
			// line breaks (NEL, LS, PS) and the byte order mark.
			printable := r == '\t' || r >= 0x20 && r <= 0x7e ||
				r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000
			if !printable || r == 0x2028 || r == 0x2029 || r == 0xfeff {
				return false
			}
		}
	}
	return true
}

// normalize makes empty and absent lists and maps alike (the file cannot
// tell them apart once saved), and a NaN opacity equal to itself.
func normalize(c Config) Config {
	if len(c.Destinations) == 0 {
		c.Destinations = nil
	}
	if len(c.Renditions) == 0 {
		c.Renditions = nil
	}
	c.Encoder.Layers = append([]Layer(nil), c.Encoder.Layers...)
	for i, l := range c.Encoder.Layers {
		if l.Opacity != nil && math.IsNaN(*l.Opacity) {
			v := -1.0
			c.Encoder.Layers[i].Opacity = &v
		}
	}
	if len(c.Encoder.Layers) == 0 {
		c.Encoder.Layers = nil
	}
	c.Plugins.List = append([]Plugin(nil), c.Plugins.List...)
	for i, p := range c.Plugins.List {
		if len(p.Params) == 0 {
			c.Plugins.List[i].Params = nil
		}
	}
	if len(c.Plugins.List) == 0 {
		c.Plugins.List = nil
	}
	return c
}
