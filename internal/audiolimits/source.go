package audiolimits

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Source strings: what a configured audio source names.
const (
	SourceAuto    = "auto"    // microphone + desktop when an audio server answers, else silence
	SourceMic     = "mic"     // the audio server's default input
	SourceDesktop = "desktop" // the monitor of the default output: what the computer plays
	SourceNone    = "none"    // silence
	PulsePrefix   = "pulse:"  // pulse:NAME, any PulseAudio source by name
	TonePrefix    = "tone:"   // tone:FREQ, a test tone of FREQ Hz
	LayerPrefix   = "layer:"  // layer:NAME, the sound of the scene's layer NAME (a media file)
	// SoundPrefix in a filter's layer attaches it to a sound source
	// instead of a picture layer: "sound:mic" filters the microphone.
	SoundPrefix = "sound:"
	ToneMaxHz   = 20000
	// MaxSources bounds the sources mixed at once.
	MaxSources = 16
)

// Source is a parsed source string.
type Source struct {
	// Kind is auto, mic, desktop, none, pulse, tone or layer.
	Kind string
	// Device is a pulse source's device name, or a layer's name.
	Device string
	// ToneHz is a tone's frequency.
	ToneHz float64
}

// ParseSource parses auto, mic, desktop, none, pulse:NAME, tone:FREQ or
// layer:NAME.
// Whether a device NAME exists only the audio server can say.
func ParseSource(spec string) (Source, error) {
	switch spec {
	case SourceAuto, SourceMic, SourceDesktop, SourceNone:
		return Source{Kind: spec}, nil
	}
	switch {
	case strings.HasPrefix(spec, PulsePrefix):
		name := strings.TrimPrefix(spec, PulsePrefix)
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return Source{}, fmt.Errorf("audio source %q: want pulse:NAME with a device name from the device list (no spaces), e.g. pulse:alsa_input.usb-Blue_Yeti-00.analog-stereo", spec)
		}
		return Source{Kind: "pulse", Device: name}, nil
	case strings.HasPrefix(spec, TonePrefix):
		f, err := strconv.ParseFloat(strings.TrimPrefix(spec, TonePrefix), 64)
		if err != nil || !(f >= 1 && f <= ToneMaxHz) {
			return Source{}, fmt.Errorf("audio source %q: want tone:FREQ with FREQ in Hz from 1 to %d, e.g. tone:1000", spec, ToneMaxHz)
		}
		return Source{Kind: "tone", ToneHz: f}, nil
	case strings.HasPrefix(spec, LayerPrefix):
		name := strings.TrimPrefix(spec, LayerPrefix)
		if name == "" || strings.IndexFunc(name, unicode.IsControl) >= 0 {
			return Source{}, fmt.Errorf("audio source %q: want layer:NAME with the name of a media file layer, e.g. layer:intro", spec)
		}
		return Source{Kind: "layer", Device: name}, nil
	}
	return Source{}, fmt.Errorf("audio source %q: want %s, %s, %s, %s, pulse:NAME, tone:FREQ or layer:NAME", spec, SourceAuto, SourceMic, SourceDesktop, SourceNone)
}

// CheckSourceList refuses a list the mixer could not hold: more than
// MaxSources, a source named twice, or auto beside mic or desktop (auto
// opens those itself, so each would play twice). Each source's own syntax
// is ParseSource's.
func CheckSourceList(specs []string) error {
	if len(specs) > MaxSources {
		return fmt.Errorf("%d audio sources: at most %d are mixed", len(specs), MaxSources)
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s] {
			return fmt.Errorf("audio source %q is listed twice: each source is one strip of the mixer", s)
		}
		seen[s] = true
	}
	if seen[SourceAuto] && (seen[SourceMic] || seen[SourceDesktop]) {
		return fmt.Errorf("audio source %q opens mic and desktop itself: list either auto, or mic and desktop", SourceAuto)
	}
	return nil
}

// CheckOffsetMS is CheckSyncOffset for a whole number of milliseconds, any
// size: it compares before converting, so a huge number cannot wrap into
// range.
func CheckOffsetMS(ms int64) error {
	if max := MaxSyncOffset.Milliseconds(); ms < -max || ms > max {
		return offsetError(ms)
	}
	return nil
}

func offsetError(ms int64) error {
	max := MaxSyncOffset.Milliseconds()
	return fmt.Errorf("sync offset %d ms: want -%d to %d ms (positive delays the source)", ms, max, max)
}
