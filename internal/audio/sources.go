package audio

// Source strings accepted by Open.
const (
	SourceAuto    = "auto"    // microphone + desktop when an audio server answers, else silence
	SourceMic     = "mic"     // the audio server's default input
	SourceDesktop = "desktop" // the monitor of the default output: what the computer plays
	SourceNone    = "none"    // silence
	// "pulse:NAME" is any PulseAudio source by name (see Devices);
	// "tone:FREQ" a test tone of FREQ Hz that beeps when the pattern flashes.
)
