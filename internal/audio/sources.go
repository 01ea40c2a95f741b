package audio

import "github.com/onair-studio/onair/internal/audiolimits"

// Source strings accepted by Open; their syntax is audiolimits.ParseSource.
const (
	SourceAuto    = audiolimits.SourceAuto    // microphone + desktop when an audio server answers, else silence
	SourceMic     = audiolimits.SourceMic     // the audio server's default input
	SourceDesktop = audiolimits.SourceDesktop // the monitor of the default output: what the computer plays
	SourceNone    = audiolimits.SourceNone    // silence
	// "pulse:NAME" is any PulseAudio source by name (see Devices);
	// "tone:FREQ" a test tone of FREQ Hz that beeps when the pattern flashes.
)
