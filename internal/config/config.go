// Package config is OnAir's one configuration: a YAML file in the user config
// directory, overridden by flags. A malformed file is refused with an error
// that names the file, the line and the key; the master never starts on a
// guess.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // slate pictures
	_ "image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/onair-studio/onair/internal/audiolimits"
	"github.com/onair-studio/onair/internal/hotkey"
	"github.com/onair-studio/onair/internal/limits"
	"github.com/onair-studio/onair/internal/output"
	"github.com/onair-studio/onair/internal/privfile"
	"github.com/onair-studio/onair/internal/replay"
	"github.com/onair-studio/onair/internal/source"
)

// Config is everything the master can be told before it starts.
type Config struct {
	Control Control `yaml:"control"`
	Monitor Monitor `yaml:"monitor"`
	// RTMPServer is the embedded live server, the default destination.
	RTMPServer RTMPServer `yaml:"rtmp_server"`
	// Destinations are the live servers to stream to. Empty means the
	// embedded server.
	Destinations []Destination `yaml:"destinations,omitempty"`
	// Renditions are extra encodes of the program at other sizes, for
	// destinations that name them.
	Renditions []Rendition `yaml:"renditions,omitempty"`
	// Live starts streaming as soon as the master runs.
	Live bool `yaml:"live"`
	// Record starts recording as soon as the master runs, when Path is set.
	Record Record `yaml:"record"`
	// Retry is how a failed destination retries: First after the first
	// failure, doubling (with jitter) up to Max.
	Retry Retry `yaml:"retry"`
	// Children the master starts: all, or a comma list of encoder,
	// plugins and worker (see Runs).
	Children string  `yaml:"children"`
	Headless bool    `yaml:"headless"`
	Encoder  Encoder `yaml:"encoder"`
	Plugins  Plugins `yaml:"plugins"`
	// Filters change a layer's frames, or the program's, in filter
	// plugins' processes, in order.
	Filters []Filter `yaml:"filters,omitempty"`
	// Scenes are the named scenes the program switches between.
	Scenes Scenes `yaml:"scenes,omitempty"`
	// Slate is what the live servers show while the encoder is down.
	Slate Slate `yaml:"slate,omitempty"`
	// Audio is the program's sound.
	Audio Audio `yaml:"audio"`
	// ObsWebSocket answers obs-websocket v5 tools (stream decks, bots).
	ObsWebSocket OptIn `yaml:"obs_websocket,omitempty"`
	// Metrics serves Prometheus metrics at /metrics.
	Metrics OptIn `yaml:"metrics,omitempty"`
	// Jobs is how the worker child runs media jobs.
	Jobs Jobs `yaml:"jobs"`
	// Replay is the replay buffer's length.
	Replay Replay `yaml:"replay"`
	// Hotkeys are the window's keys; a key not bound here keeps its
	// default (see hotkey.Defaults).
	Hotkeys []Hotkey `yaml:"hotkeys,omitempty"`
}

// Hotkey binds a key ("Ctrl+Shift+L", "Alt+F9") to an action ("scene:BRB",
// "transition", "live", "record", "mute", "mute:mic"); see package hotkey.
type Hotkey struct {
	Key    string `yaml:"key"`
	Action string `yaml:"action"`
}

// OptIn is a listener that is off until its address is set. A bare port
// ("4455" or ":4455") listens on loopback; name a host (0.0.0.0:4455) to
// listen off it.
type OptIn struct {
	Listen string `yaml:"listen,omitempty"`
}

// Addr is the address to listen on, "" when off.
func (o OptIn) Addr() string {
	v := strings.TrimPrefix(o.Listen, ":")
	if v != "" && !strings.Contains(v, ":") {
		return "127.0.0.1:" + v
	}
	return o.Listen
}

// Replay configures the replay buffer: how many seconds of the program it
// keeps for `ctl replay save` (bounded in bytes too, see internal/replay).
type Replay struct {
	Seconds int `yaml:"seconds"`
}

// Jobs configures the job queue's worker.
type Jobs struct {
	// Concurrency is how many jobs run at once (1: one after the other,
	// which leaves the most CPU to the live encode).
	Concurrency int `yaml:"concurrency"`
}

// MaxJobConcurrency bounds jobs.concurrency.
const MaxJobConcurrency = 8

// Runs reports whether a children setting ("all" or a comma list) names
// child (encoder, plugins or worker).
func Runs(children, child string) bool {
	for _, c := range strings.Split(children, ",") {
		if c = strings.TrimSpace(c); c == "all" || c == child {
			return true
		}
	}
	return false
}

// Audio is the program's sound: the sources mixed, the master volume and
// the AAC bitrate. Ranges and source strings are internal/audiolimits'.
type Audio struct {
	BitrateKbps int     `yaml:"bitrate_kbps"`
	VolumeDB    float64 `yaml:"volume_db"`
	// Sources are mixed together; absent or empty means DefaultAudio's.
	Sources []AudioSource `yaml:"sources"`
}

// AudioSource is one strip of the mixer.
type AudioSource struct {
	// Source is auto, mic, desktop, none, pulse:NAME, tone:FREQ or layer:NAME.
	Source   string  `yaml:"source"`
	VolumeDB float64 `yaml:"volume_db,omitempty"`
	Muted    bool    `yaml:"muted,omitempty"`
	// OffsetMS delays the source (negative: plays it earlier).
	OffsetMS int `yaml:"offset_ms,omitempty"`
}

// DefaultAudio is one auto source at 0 dB, AAC at 160 kbit/s.
func DefaultAudio() Audio {
	return Audio{BitrateKbps: audiolimits.DefaultBitrateKbps, Sources: []AudioSource{{Source: audiolimits.SourceAuto}}}
}

// WithDefaults fills what an empty value leaves to the default: no sources
// means DefaultAudio's, a zero bitrate the default bitrate.
func (a Audio) WithDefaults() Audio {
	d := DefaultAudio()
	if len(a.Sources) == 0 {
		a.Sources = d.Sources
	}
	if a.BitrateKbps == 0 {
		a.BitrateKbps = d.BitrateKbps
	}
	return a
}

// Slate is the still the master sends while the encoder is down. An empty
// Image is the built-in "We'll be right back" card.
type Slate struct {
	// Image is a PNG, JPEG or GIF file, fitted into the frame.
	Image string `yaml:"image,omitempty"`
}

// Control is where the Control API listens.
type Control struct {
	Listen string `yaml:"listen"`
	// TLS is required off loopback: attach clients pin the certificate's
	// SHA-256 fingerprint.
	TLS bool `yaml:"tls"`
}

// Monitor is the master's RTSP server: the encoder returns the program to it,
// and any RTSP player can watch it there with the monitor password.
type Monitor struct {
	Listen string `yaml:"listen"`
}

// Destination is one live server. In the file it is either just an rtmp://
// or rtmps:// URL with the stream key, or a mapping:
//
//   - name: main             # shown in status; names the stored key
//     service: twitch        # twitch | youtube | facebook | custom (default)
//     url: rtmp://host/app   # custom only: the server, or the whole URL
//     rendition: 720p        # optional: a rendition instead of the program
//
// The stream key is best kept apart from the URL, in the master's key store
// (`master ctl key set NAME`); a `key:` field also works.
type Destination struct {
	Name      string `yaml:"name,omitempty"`
	Service   string `yaml:"service,omitempty"`
	URL       string `yaml:"url,omitempty"`
	Key       string `yaml:"key,omitempty"`
	Rendition string `yaml:"rendition,omitempty"`
}

// UnmarshalYAML takes the short form, a bare URL, as well as the mapping.
func (d *Destination) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		d.URL = n.Value
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a destination is a URL or a mapping (name, service, url, key, rendition)", n.Line)
	}
	fields := map[string]*string{"name": &d.Name, "service": &d.Service, "url": &d.URL, "key": &d.Key, "rendition": &d.Rendition}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := fields[k.Value]
		if !ok {
			return fmt.Errorf("line %d: field %s not found in type config.Destination", k.Line, k.Value)
		}
		*f = v.Value
	}
	return nil
}

// Services are the destination presets.
var Services = []string{"twitch", "youtube", "facebook", "custom"}

// Retry is a destination's retry schedule.
type Retry struct {
	First time.Duration `yaml:"first"`
	Max   time.Duration `yaml:"max"`
}

// Record is a recording: a file path whose name (without extension) may
// hold a Go time layout, and the rendition to record (empty: the program).
type Record struct {
	Path      string `yaml:"path"`
	Rendition string `yaml:"rendition,omitempty"`
}

// Rendition is an extra encode of the program.
type Rendition struct {
	Name        string `yaml:"name"`
	Width       int    `yaml:"width"`
	Height      int    `yaml:"height"`
	BitrateKbps int    `yaml:"bitrate_kbps"`
}

// RTMPServer is the embedded RTMP live server. An empty Listen turns it off.
type RTMPServer struct {
	Listen string `yaml:"listen"`
	// SRTListen (UDP host:port) also takes publishers over SRT, the stream
	// key as their streamid; empty (the default) takes none.
	SRTListen string `yaml:"srt_listen,omitempty"`
}

// Encoder is the program's video settings.
type Encoder struct {
	// Source is "auto" (the screen when there is a display, else the test
	// pattern) or a source string: pattern, screen[:N[:X,Y,WxH]],
	// window:NAME|0xID, image:PATH, color:#rrggbb.
	Source string `yaml:"source"`
	// Layers, bottom first, make the scene; empty means one full-frame
	// layer of Source.
	Layers          []Layer `yaml:"layers,omitempty"`
	Width           int     `yaml:"width"`
	Height          int     `yaml:"height"`
	FPS             int     `yaml:"fps"`
	BitrateKbps     int     `yaml:"bitrate_kbps"`
	KeyframeSeconds int     `yaml:"keyframe_seconds"`
	Backend         string  `yaml:"backend"`
	Preset          string  `yaml:"preset"`
	// Standby keeps a spare encoder ready, so an encoder crash costs a
	// promotion rather than a process start.
	Standby bool `yaml:"standby"`
}

// Layer places a source in the scene, in output pixels.
type Layer struct {
	Source string `yaml:"source"`
	X      int    `yaml:"x"`
	Y      int    `yaml:"y"`
	// Width and Height left out (0) take the source's own size, or the
	// output's; written as 0 they are refused.
	Width   int      `yaml:"width,omitempty"`
	Height  int      `yaml:"height,omitempty"`
	Opacity *float64 `yaml:"opacity,omitempty"` // default 1
	// Name tells layers apart; Hidden layers keep their place, undrawn.
	Name   string `yaml:"name,omitempty"`
	Hidden bool   `yaml:"hidden,omitempty"`
	// Crop cuts source pixels off each edge before the rest is scaled.
	Crop Crop `yaml:"crop,omitempty"`
	// zeroSize names a width or height written as 0 in the file: left
	// out, a size is the output's; written, 0 is no size at all.
	zeroSize string
}

// UnmarshalYAML reads a layer and notes a size written as 0.
func (l *Layer) UnmarshalYAML(n *yaml.Node) error {
	type plain Layer
	if err := n.Decode((*plain)(l)); err != nil {
		return err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if n, err := strconv.Atoi(v.Value); (k == "width" || k == "height") && err == nil && n == 0 && l.zeroSize == "" {
			l.zeroSize = k
		}
	}
	return nil
}

// Crop is how many source pixels to cut off each edge.
type Crop struct {
	Left   int `yaml:"left,omitempty"`
	Top    int `yaml:"top,omitempty"`
	Right  int `yaml:"right,omitempty"`
	Bottom int `yaml:"bottom,omitempty"`
}

// Scenes are the show's scenes. With none, encoder.layers (or
// encoder.source) is the program, as before scenes existed.
type Scenes struct {
	// Program is the scene on air; empty means the first.
	Program string `yaml:"program,omitempty"`
	// Preview is studio mode's preview scene; empty: studio mode is off.
	Preview string  `yaml:"preview,omitempty"`
	List    []Scene `yaml:"list,omitempty"`
}

// Scene is a named, ordered list of layers, bottom first.
type Scene struct {
	Name   string  `yaml:"name"`
	Layers []Layer `yaml:"layers,omitempty"`
}

// Find returns the index of the scene named name, or -1.
func (s Scenes) Find(name string) int {
	return slices.IndexFunc(s.List, func(sc Scene) bool { return sc.Name == name })
}

// OnAir is the scene on air: Program, or the first scene; nil without
// scenes.
func (s Scenes) OnAir() *Scene {
	if i := s.Find(s.Program); i >= 0 {
		return &s.List[i]
	}
	if len(s.List) > 0 && s.Program == "" {
		return &s.List[0]
	}
	return nil
}

// CheckSceneName says whether name can name a scene: shown in menus and
// typed in commands, so non-empty, at most 64 characters, no control
// characters; spaces are fine ("Just chatting").
func CheckSceneName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("a scene needs a name")
	case len(name) > 64:
		return fmt.Errorf("%q: scene names are at most 64 characters", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%q: scene names have no control characters", name)
	}
	return nil
}

// Plugins is where plugin binaries are found and which ones run (see
// PLUGINS.md).
type Plugins struct {
	// Dir is the plugins directory; empty means the user config dir's
	// onair/plugins.
	Dir  string   `yaml:"dir"`
	List []Plugin `yaml:"list,omitempty"`
}

// Plugin is one plugin instance.
type Plugin struct {
	// Name identifies the instance (its overlay and its status line) and,
	// unless Binary is set, names the binary in the plugins directory.
	Name   string            `yaml:"name"`
	Binary string            `yaml:"binary,omitempty"`
	Params map[string]string `yaml:"params,omitempty"`
}

// Filter is one filter instance: a filter plugin run by the pluginhost
// beside the plugins of plugins.list (names are shared with them).
type Filter struct {
	// Name identifies the instance and, unless Binary is set, names the
	// binary in the plugins directory.
	Name   string `yaml:"name"`
	Binary string `yaml:"binary,omitempty"`
	// Layer is the layer filtered, by its name (or its source when it has
	// none); empty filters the whole program.
	Layer  string            `yaml:"layer,omitempty"`
	Params map[string]string `yaml:"params,omitempty"`
}

// Allowed values, shared with flag help texts.
var (
	ChildrenModes = []string{"all", "encoder", "plugins", "worker"}
	Backends      = []string{"auto", "libx264", "h264_nvenc", "h264_vaapi", "h264_qsv"}
	Presets       = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"}
)

// Default is the configuration of a fresh install.
func Default() Config {
	return Config{
		Control:    Control{Listen: "127.0.0.1:7000"},
		Monitor:    Monitor{Listen: "127.0.0.1:8554"},
		RTMPServer: RTMPServer{Listen: "127.0.0.1:1935"},
		Retry:      Retry{First: time.Second, Max: 30 * time.Second},
		Children:   "all",
		Jobs:       Jobs{Concurrency: 1},
		Replay:     Replay{Seconds: int(replay.DefaultKeep / time.Second)},
		Encoder: Encoder{
			Source: "auto", Width: 1280, Height: 720, FPS: 30,
			BitrateKbps: 4500, KeyframeSeconds: 2, Backend: "auto", Preset: "veryfast",
			Standby: true,
		},
		Audio: DefaultAudio(),
	}
}

// Dir is OnAir's directory in the user config dir (token, certificate,
// config file).
func Dir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the user config directory: %w", err)
	}
	return filepath.Join(base, "onair"), nil
}

// Error is a problem at one place in a config file.
type Error struct {
	File string // empty for values that came from flags
	Line int
	Key  string // dotted, e.g. encoder.fps
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.File == "":
		return fmt.Sprintf("%s: %s", e.Key, e.Msg)
	case e.Key == "":
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
}

// Load reads path over the defaults. A missing file gives the defaults.
func Load(path string) (Config, error) {
	cfg := Default()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return cfg, nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return cfg, syntaxError(path, err)
	}
	lines := keyLines(&root)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); errors.Is(err, io.EOF) {
		return cfg, nil // only comments: the defaults
	} else if err != nil {
		return cfg, decodeError(path, lines, err)
	}
	// "sources: []" reads as an empty list over the default one.
	if len(cfg.Audio.Sources) == 0 {
		cfg.Audio.Sources = DefaultAudio().Sources
	}
	if errs := cfg.check(); len(errs) > 0 {
		for _, e := range errs {
			e.File = path
			e.Line = lines.line(e.Key)
		}
		return cfg, errors.Join(asErrors(errs)...)
	}
	return cfg, nil
}

// Validate checks values after flags have been applied.
func (c Config) Validate() error { return errors.Join(asErrors(c.check())...) }

// updates serialises every read-modify-write of a config file in this
// process, so concurrent changes (API calls) each see the one before. The
// master is the file's only writer: a second master on the same config dir
// would clash over its ports and endpoint first, and editors take no
// advisory locks, so a lock file would guard nothing more; the rename in
// Save already gives every reader a whole file.
var updates sync.Mutex

// Update changes the file at path (the defaults if it does not exist yet)
// and saves it, checked: flags given to a running master stay out of it.
// Updates run one at a time, so none is lost to another.
func Update(path string, change func(*Config)) error {
	updates.Lock()
	defer updates.Unlock()
	c, err := Load(path)
	if err != nil {
		return err
	}
	change(&c)
	if err := c.Validate(); err != nil {
		return err
	}
	return Save(path, c)
}

// Save writes c to path, readable only by the user (also when the file was
// readable by others before). It writes a new file beside the old one and
// renames it over, so a reader, or a crash, sees the old file or the new
// one, never a part.
func Save(path string, c Config) error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	return privfile.Write(path, data)
}

func (c Config) check() []*Error {
	var errs []*Error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &Error{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	oneOf := func(key, v string, allowed []string) {
		if !slices.Contains(allowed, v) {
			bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
		}
	}
	between := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			bad(key, "%d is outside %d..%d", v, lo, hi)
		}
	}
	hostPort := func(key, v string) {
		if _, port, err := net.SplitHostPort(v); err != nil {
			bad(key, "%q is not host:port (%v)", v, err)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad(key, "port %q is not a number from 0 to 65535", port)
		}
	}
	hostPort("control.listen", c.Control.Listen)
	hostPort("monitor.listen", c.Monitor.Listen)
	if c.RTMPServer.Listen != "" {
		hostPort("rtmp_server.listen", c.RTMPServer.Listen)
	}
	if a := c.ObsWebSocket.Addr(); a != "" {
		hostPort("obs_websocket.listen", a)
	}
	if a := c.Metrics.Addr(); a != "" {
		hostPort("metrics.listen", a)
	}
	if c.RTMPServer.SRTListen != "" {
		hostPort("rtmp_server.srt_listen", c.RTMPServer.SRTListen)
		if c.RTMPServer.Listen == "" {
			bad("rtmp_server.srt_listen", "needs rtmp_server.listen: players watch SRT publishers over RTMP")
		}
	}
	for _, child := range strings.Split(c.Children, ",") {
		oneOf("children", strings.TrimSpace(child), ChildrenModes)
	}
	between("jobs.concurrency", c.Jobs.Concurrency, 1, MaxJobConcurrency)
	between("replay.seconds", c.Replay.Seconds, 1, int(replay.MaxKeep/time.Second))
	e := c.Encoder
	if e.Source != "auto" {
		if _, err := source.Parse(e.Source); err != nil {
			bad("encoder.source", "%v", err)
		}
	}
	checkLayers := func(key string, layers []Layer) {
		for i, l := range layers {
			key := fmt.Sprintf("%s.%d", key, i)
			if spec, err := source.Parse(l.Source); err != nil {
				bad(key+".source", "%v", err)
			} else if spec.Kind == source.KindImage {
				if err := checkPicture(spec.Path); err != nil {
					bad(key+".source", "%v", err)
				}
			} else if spec.Kind == source.KindText {
				if _, err := source.LoadFont(spec.FontPath); err != nil {
					bad(key+".source", "%v", err)
				}
			} else if spec.Kind == source.KindFile || spec.Kind == source.KindWebcam {
				if err := checkMedia(spec); err != nil {
					bad(key+".source", "%v", err)
				}
			} else if spec.Kind == source.KindPlugin &&
				!slices.ContainsFunc(c.Plugins.List, func(p Plugin) bool { return p.Name == spec.Plugin }) {
				bad(key+".source", "no plugin named %q in plugins.list", spec.Plugin)
			}
			if l.zeroSize != "" {
				bad(key+"."+l.zeroSize, "0 is not a layer size (1 to %d; leave %s out for the output's)", limits.MaxPictureSide, l.zeroSize)
			} else if l.Width < 0 || l.Height < 0 || l.Width > limits.MaxPictureSide || l.Height > limits.MaxPictureSide {
				bad(key+".width", "%dx%d is not a layer size (each side 1 to %d)", l.Width, l.Height, limits.MaxPictureSide)
			} else if err := checkCrop(l, e); err != nil {
				bad(key+".crop", "%v", err)
			}
			if o := l.Opacity; o != nil && !(*o >= 0 && *o <= 1) { // NaN too
				bad(key+".opacity", "%v is outside 0..1", *o)
			}
		}
	}
	checkLayers("encoder.layers", e.Layers)
	sceneNames := map[string]bool{}
	for i, sc := range c.Scenes.List {
		key := fmt.Sprintf("scenes.list.%d", i)
		if err := CheckSceneName(sc.Name); err != nil {
			bad(key+".name", "%v", err)
		} else if sceneNames[sc.Name] {
			bad(key+".name", "%q: scene names are unique", sc.Name)
		}
		sceneNames[sc.Name] = true
		checkLayers(key+".layers", sc.Layers)
	}
	boundKeys := map[string]bool{}
	for i, h := range c.Hotkeys {
		key := fmt.Sprintf("hotkeys.%d", i)
		if k, err := hotkey.ParseKey(h.Key); err != nil {
			bad(key+".key", "%v", err)
		} else if boundKeys[k.String()] {
			bad(key+".key", "%s is bound twice: a key does one thing", k)
		} else {
			boundKeys[k.String()] = true
		}
		if a, err := hotkey.ParseAction(h.Action); err != nil {
			bad(key+".action", "%v", err)
		} else if a.Kind == hotkey.Scene && !sceneNames[a.Arg] {
			bad(key+".action", "%q is not a scene", a.Arg)
		}
	}
	if p := c.Scenes.Program; p != "" && !sceneNames[p] {
		bad("scenes.program", "%q is not a scene", p)
	}
	if p := c.Scenes.Preview; p != "" && !sceneNames[p] {
		bad("scenes.preview", "%q is not a scene", p)
	}
	if r := c.Retry; r.First <= 0 || r.Max < r.First {
		bad("retry.first", "retry waits must be positive, first (%v) at most max (%v)", r.First, r.Max)
	}
	between("encoder.width", e.Width, 16, limits.MaxOutputWidth)
	between("encoder.height", e.Height, 16, limits.MaxOutputHeight)
	if e.Width%2 != 0 || e.Height%2 != 0 {
		bad("encoder.width", "%dx%d: width and height must be even for 4:2:0 video", e.Width, e.Height)
	}
	between("encoder.fps", e.FPS, 1, limits.MaxFPS)
	if err := CheckBitrate(e.BitrateKbps); err != nil {
		bad("encoder.bitrate_kbps", "%v", err)
	}
	between("encoder.keyframe_seconds", e.KeyframeSeconds, 1, 20)
	oneOf("encoder.backend", e.Backend, Backends)
	names := map[string]bool{}
	for i, r := range c.Renditions {
		key := fmt.Sprintf("renditions.%d", i)
		if err := CheckName(r.Name); err != nil {
			bad(key+".name", "%v", err)
		} else if names[r.Name] {
			bad(key+".name", "%q: rendition names are unique", r.Name)
		}
		names[r.Name] = true
		between(key+".width", r.Width, 16, e.Width)
		between(key+".height", r.Height, 16, e.Height)
		if r.Width%2 != 0 || r.Height%2 != 0 {
			bad(key+".width", "%dx%d: width and height must be even", r.Width, r.Height)
		}
		if err := CheckBitrate(r.BitrateKbps); err != nil {
			bad(key+".bitrate_kbps", "%v", err)
		}
	}
	plugins := map[string]bool{}
	for i, p := range c.Plugins.List {
		if err := CheckName(p.Name); err != nil {
			bad(fmt.Sprintf("plugins.list.%d.name", i), "%v", err)
		} else if plugins[p.Name] {
			bad(fmt.Sprintf("plugins.list.%d.name", i), "%q: plugin names are unique", p.Name)
		}
		plugins[p.Name] = true
		// The binary is a file in the plugins directory, checked against
		// that directory's manifest: never a path out of it.
		if p.Binary != "" {
			if err := CheckName(p.Binary); err != nil {
				bad(fmt.Sprintf("plugins.list.%d.binary", i), "%v; a plugin binary is a file name in the plugins directory", err)
			}
		}
	}
	for i, f := range c.Filters {
		key := fmt.Sprintf("filters.%d", i)
		if err := CheckName(f.Name); err != nil {
			bad(key+".name", "%v", err)
		} else if plugins[f.Name] {
			bad(key+".name", "%q: filter and plugin names are unique together", f.Name)
		}
		plugins[f.Name] = true
		if f.Binary != "" {
			if err := CheckName(f.Binary); err != nil {
				bad(key+".binary", "%v; a filter binary is a file name in the plugins directory", err)
			}
		}
	}
	if r := c.Record.Rendition; r != "" && !names[r] {
		bad("record.rendition", "no rendition named %q (see renditions)", r)
	}
	destNames := map[string]bool{}
	for i, d := range c.Destinations {
		key := fmt.Sprintf("destinations.%d", i)
		if d.Rendition != "" && !names[d.Rendition] {
			bad(key+".rendition", "no rendition named %q (see renditions)", d.Rendition)
		}
		if d.Service != "" {
			oneOf(key+".service", d.Service, Services)
		}
		if d.Service != "" && d.Service != "custom" && d.URL != "" {
			bad(key+".url", "%s has its own server: leave url out", d.Service)
		}
		if (d.Service == "" || d.Service == "custom") && d.URL == "" {
			bad(key+".url", "a custom destination needs a url")
		}
		if d.URL != "" {
			if err := output.CheckURL(d.URL); err != nil {
				bad(key+".url", "%v", err)
			}
		}
		if d.Name != "" {
			if err := CheckName(d.Name); err != nil {
				bad(key+".name", "%v", err)
			} else if destNames[d.Name] {
				bad(key+".name", "%q: destination names are unique", d.Name)
			}
		}
		destNames[d.Name] = true
	}
	oneOf("encoder.preset", e.Preset, Presets)
	if c.Slate.Image != "" {
		if err := checkPicture(c.Slate.Image); err != nil {
			bad("slate.image", "%v", err)
		}
	}
	for _, e := range c.Audio.Check() {
		bad("audio."+e.Key, "%s", e.Msg)
	}
	return errs
}

// Check checks audio settings with audiolimits' rules; keys are relative to
// audio (bitrate_kbps, sources.1.volume_db).
func (a Audio) Check() []*Error {
	var errs []*Error
	bad := func(key string, err error) {
		if err != nil {
			errs = append(errs, &Error{Key: key, Msg: err.Error()})
		}
	}
	bad("bitrate_kbps", audiolimits.CheckBitrateKbps(a.BitrateKbps))
	bad("volume_db", audiolimits.CheckVolumeDB(a.VolumeDB))
	specs := make([]string, len(a.Sources))
	for i, s := range a.Sources {
		key := fmt.Sprintf("sources.%d.", i)
		_, err := audiolimits.ParseSource(s.Source)
		bad(key+"source", err)
		bad(key+"volume_db", audiolimits.CheckVolumeDB(s.VolumeDB))
		bad(key+"offset_ms", audiolimits.CheckOffsetMS(int64(s.OffsetMS)))
		specs[i] = s.Source
	}
	bad("sources", audiolimits.CheckSourceList(specs))
	return errs
}

// checkCrop says whether a layer's crop leaves some of its source, where
// the source's size is known before it opens: a picture's own size, or the
// layer's (the output's) for sources of any size. Screens and windows are
// checked when they open, and a crop too large shows as the layer's error.
func checkCrop(l Layer, e Encoder) error {
	c := l.Crop
	if c == (Crop{}) {
		return nil
	}
	if c.Left < 0 || c.Top < 0 || c.Right < 0 || c.Bottom < 0 {
		return fmt.Errorf("%d,%d,%d,%d (left, top, right, bottom): a crop is not negative", c.Left, c.Top, c.Right, c.Bottom)
	}
	spec, err := source.Parse(l.Source)
	if err != nil {
		return nil // reported as the source's error
	}
	var size image.Point
	switch spec.Kind {
	case source.KindImage:
		f, err := os.Open(spec.Path)
		if err != nil {
			return nil // reported as the source's error
		}
		defer f.Close()
		cfg, _, err := image.DecodeConfig(f)
		if err != nil {
			return nil
		}
		size = image.Pt(cfg.Width, cfg.Height)
	case source.KindPattern, source.KindColor:
		size = image.Pt(e.Width, e.Height)
		if l.Width > 0 {
			size.X = l.Width
		}
		if l.Height > 0 {
			size.Y = l.Height
		}
	default:
		return nil
	}
	if c.Left+c.Right >= size.X || c.Top+c.Bottom >= size.Y {
		return fmt.Errorf("%d,%d,%d,%d (left, top, right, bottom) is larger than the %dx%d source", c.Left, c.Top, c.Right, c.Bottom, size.X, size.Y)
	}
	return nil
}

// checkMedia says whether a media file is a readable file, or a webcam's
// device exists. Whether a file decodes the encoder finds out: a bad one
// shows a placeholder and its error in status.
func checkMedia(spec source.Spec) error {
	what := "media file"
	if spec.Kind == source.KindWebcam {
		what = "webcam device"
	}
	fi, err := os.Stat(spec.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s does not exist", what, spec.Path)
	case err != nil:
		return fmt.Errorf("%s %s: %v", what, spec.Path, err)
	case spec.Kind == source.KindFile && !fi.Mode().IsRegular():
		return fmt.Errorf("media file %s is not a file", spec.Path)
	case spec.Kind == source.KindWebcam && fi.Mode()&fs.ModeCharDevice == 0:
		return fmt.Errorf("webcam device %s is not a device", spec.Path)
	}
	if spec.Kind == source.KindFile {
		f, err := os.Open(spec.Path)
		if err != nil {
			return fmt.Errorf("media file %s cannot be read: %v", spec.Path, err)
		}
		f.Close()
	}
	return nil
}

// checkPicture says whether path is a picture file that decodes.
func checkPicture(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, _, err := image.Decode(f); err != nil {
		return fmt.Errorf("%s is not a PNG, JPEG or GIF picture: %v", path, err)
	}
	return nil
}

// CheckBitrate says whether kbps is a video bitrate the encoder accepts
// (the rule is limits.CheckBitrate, shared with the encoder).
func CheckBitrate(kbps int) error { return limits.CheckBitrate(kbps) }

func asErrors(errs []*Error) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

// keyPositions maps dotted keys to the line they are written on, and back.
type keyPositions struct {
	byKey  map[string]int
	byLine map[int]string
}

func (k keyPositions) line(key string) int {
	for ; key != ""; key = parentKey(key) {
		if l, ok := k.byKey[key]; ok {
			return l
		}
	}
	return 1
}

func parentKey(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return ""
}

func keyLines(root *yaml.Node) keyPositions {
	k := keyPositions{byKey: map[string]int{}, byLine: map[int]string{}}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				if prefix != "" {
					key = prefix + "." + key
				}
				k.byKey[key] = n.Content[i].Line
				k.byLine[n.Content[i].Line] = key
				if v := n.Content[i+1]; v.Line != n.Content[i].Line {
					k.byLine[v.Line] = key
				}
				walk(n.Content[i+1], key)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				key := fmt.Sprintf("%s.%d", prefix, i)
				k.byKey[key] = c.Line
				walk(c, key)
			}
		}
	}
	walk(root, "")
	return k
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

func syntaxError(path string, err error) error {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{File: path, Line: 1, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	n, _ := strconv.Atoi(m[1])
	return &Error{File: path, Line: n, Msg: m[2]}
}

var unknownField = regexp.MustCompile(`^field (\S+) not found in type`)

// decodeError turns yaml.v3's "line N: ..." messages into file:line:key
// errors.
func decodeError(path string, lines keyPositions, err error) error {
	msgs := []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	var out []error
	for _, msg := range msgs {
		m := yamlLine.FindStringSubmatch(msg)
		if m == nil {
			out = append(out, &Error{File: path, Line: 1, Msg: msg})
			continue
		}
		n, _ := strconv.Atoi(m[1])
		e := &Error{File: path, Line: n, Key: lines.byLine[n], Msg: m[2]}
		if u := unknownField.FindStringSubmatch(m[2]); u != nil {
			e.Msg = "unknown key " + strconv.Quote(u[1])
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// CheckName checks a destination, rendition or plugin name. Names are typed
// in commands and become file names (a destination's stream key is kept in a
// file named after it), so they are non-empty, at most 64 characters, without
// spaces, slashes or control characters, and not "." or "..".
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("a name is required")
	case len(name) > 64:
		return fmt.Errorf("%q: names are at most 64 characters", name)
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a name", name)
	case strings.IndexFunc(name, func(r rune) bool { return r == '/' || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("%q: names have no spaces or slashes", name)
	}
	return nil
}
