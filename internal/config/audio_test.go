package config

import (
	"reflect"
	"strings"
	"testing"
)

// With no audio section the program has sound: one auto source at 0 dB,
// AAC at 160 kbit/s; an empty source list is the same.
func TestAudioDefaults(t *testing.T) {
	for _, body := range []string{"live: false\n", "audio:\n  volume_db: 0\n", "audio:\n  sources: []\n"} {
		cfg, err := Load(writeConfig(t, body))
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		want := Audio{BitrateKbps: 160, Sources: []AudioSource{{Source: "auto"}}}
		if !reflect.DeepEqual(cfg.Audio, want) {
			t.Errorf("%q: audio %+v, want %+v", body, cfg.Audio, want)
		}
	}
}

func TestAudioSectionLoads(t *testing.T) {
	cfg, err := Load(writeConfig(t, `audio:
  bitrate_kbps: 128
  volume_db: -1.5
  sources:
    - {source: mic, volume_db: -3}
    - {source: desktop, muted: true, offset_ms: -120}
    - {source: "pulse:alsa_input.usb-Blue_Yeti-00.analog-stereo"}
    - {source: "tone:1000"}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Audio{BitrateKbps: 128, VolumeDB: -1.5, Sources: []AudioSource{
		{Source: "mic", VolumeDB: -3}, {Source: "desktop", Muted: true, OffsetMS: -120},
		{Source: "pulse:alsa_input.usb-Blue_Yeti-00.analog-stereo"}, {Source: "tone:1000"},
	}}
	if !reflect.DeepEqual(cfg.Audio, want) {
		t.Fatalf("got %+v\nwant %+v", cfg.Audio, want)
	}
}

// Each bad audio value is refused at its file, line and key, saying what a
// valid one looks like.
func TestBadAudioNamesFileLineAndKey(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"audio:\n  bitrate_kbps: 32\n", ":2: audio.bitrate_kbps: audio bitrate 32 kbit/s: want 64 to 320 (default 160)"},
		{"audio:\n  volume_db: .nan\n", ":2: audio.volume_db: volume NaN dB: want a number of dB from -60 to +20"},
		{"audio:\n  sources:\n    - {source: mic}\n    - {source: desktop, volume_db: 30}\n",
			":4: audio.sources.1.volume_db: volume 30 dB: want a number of dB from -60 to +20"},
		{"audio:\n  sources:\n    - source: mic\n      offset_ms: 2500\n",
			":4: audio.sources.0.offset_ms: sync offset 2500 ms: want -2000 to 2000 ms"},
		{"audio:\n  sources:\n    - source: mic\n      offset_ms: 9223372036855\n",
			":4: audio.sources.0.offset_ms: sync offset 9223372036855 ms: want -2000 to 2000 ms"},
		{"audio:\n  sources:\n    - {source: webcam}\n",
			`:3: audio.sources.0.source: audio source "webcam": want auto, mic, desktop, none, pulse:NAME, tone:FREQ or layer:NAME`},
		{"audio:\n  sources:\n    - {source: \"tone:0\"}\n", ":3: audio.sources.0.source: audio source \"tone:0\": want tone:FREQ with FREQ in Hz from 1 to 20000, e.g. tone:1000"},
		{"audio:\n  sources:\n    - {source: \"pulse:\"}\n", ":3: audio.sources.0.source: audio source \"pulse:\": want pulse:NAME"},
		{"audio:\n  sources:\n    - {source: mic}\n    - {source: mic}\n", `:2: audio.sources: audio source "mic" is listed twice`},
		{"audio:\n  sources:\n    - {source: auto}\n    - {source: desktop}\n", ":2: audio.sources: audio source \"auto\" opens mic and desktop itself"},
		{"audio:\n  sources:\n    - {source: mic, volume: 3}\n", `:3: audio.sources.0.volume: unknown key "volume"`},
		{"audio:\n  sources:\n    - {source: mic, muted: maybe}\n", ":3: audio.sources.0.muted: cannot unmarshal"},
	} {
		path := writeConfig(t, c.body)
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), path+c.want) {
			t.Errorf("%q:\n got %v\nwant %s%s", c.body, err, path, c.want)
		}
	}
}

// An audio change saved through Update lands in the file and loads back; a
// refused one leaves the file as it was.
func TestAudioUpdate(t *testing.T) {
	path := writeConfig(t, "live: true\n")
	set := func(a Audio) error { return Update(path, func(c *Config) { c.Audio = a }) }
	good := Audio{BitrateKbps: 96, VolumeDB: -2, Sources: []AudioSource{{Source: "mic", Muted: true}, {Source: "tone:440"}}}
	if err := set(good); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.Sources = []AudioSource{{Source: "mic", OffsetMS: 3000}}
	if err := set(bad); err == nil || !strings.Contains(err.Error(), "audio.sources.0.offset_ms") {
		t.Fatalf("a bad offset: %v", err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Audio, good) || !cfg.Live {
		t.Fatalf("after a good and a refused update: %+v (live %v), want %+v", cfg.Audio, cfg.Live, good)
	}
}
