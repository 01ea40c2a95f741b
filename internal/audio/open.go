package audio

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/onair-studio/onair/internal/audiolimits"
)

// Options say where the audio server is.
type Options struct {
	// Server is the PulseAudio server ("unix:/run/user/1000/pulse/native",
	// a host name); empty uses libpulse's own lookup ($PULSE_SERVER, then
	// the user's runtime directory), as every desktop program does.
	Server string
	// Layers finds the sound of a scene layer by name for "layer:NAME"
	// sources; nil: layers play silence.
	Layers func(name string) LayerSound
}

// The names PulseAudio resolves to the default input and to the monitor of
// the default output, following the user's choice if it changes.
const (
	defaultInput   = "@DEFAULT_SOURCE@"
	defaultMonitor = "@DEFAULT_MONITOR@"
)

// Devices lists the PulseAudio sources that can be captured.
func Devices(o Options) ([]Device, error) {
	list, _, err := devices(o.Server)
	return list, err
}

// Open opens the sources spec names (see SourceAuto and the other Source
// constants), each ready for Mixer.Add under its String(), and says what it
// chose and why. A live source whose server or device is missing still
// opens: it plays silence, says why in its Status, and comes back by itself.
// An unknown device name is refused with the list of those that exist.
func Open(spec string, clock Clock, o Options) (inputs []Input, reason string, err error) {
	src, err := audiolimits.ParseSource(spec)
	if err != nil {
		return nil, "", err
	}
	switch src.Kind {
	case SourceAuto:
		return openAuto(clock, o)
	case SourceNone:
		return []Input{silence{"no audio source"}}, "silence: asked for none", nil
	case SourceMic:
		in := newDeviceSource(spec, defaultInput, "microphone (default input)", o.Server, clock)
		return []Input{in}, in.label, nil
	case SourceDesktop:
		in := newDeviceSource(spec, defaultMonitor, "desktop sound (monitor of the default output)", o.Server, clock)
		return []Input{in}, in.label, nil
	case "pulse":
		if err := checkDevice(spec, src.Device, o); err != nil {
			return nil, "", err
		}
		in := newDeviceSource(spec, src.Device, src.Device, o.Server, clock)
		return []Input{in}, src.Device, nil
	case "layer":
		in := &layerSource{spec: spec, name: src.Device, find: o.Layers, clock: clock}
		return []Input{in}, "the sound of layer " + src.Device, nil
	default: // tone
		in := newTone(spec, src.ToneHz, clock)
		return []Input{in}, in.Status().Reason, nil
	}
}

// checkDevice refuses a device name the server does not have. When the
// server cannot be asked, the name stands: the source waits for it.
func checkDevice(spec, name string, o Options) error {
	list, _, err := devices(o.Server)
	if err != nil {
		return nil
	}
	for _, d := range list {
		if d.Name == name {
			return nil
		}
	}
	have := make([]string, len(list))
	for i, d := range list {
		have[i] = fmt.Sprintf("%s (%s)", d.Name, d.Description)
	}
	if len(have) == 0 {
		have = []string{"none"}
	}
	return fmt.Errorf("audio source %q: no device named %q; devices: %s", spec, name, strings.Join(have, ", "))
}

// openAuto opens the microphone and the desktop sound when an audio server
// answers, else silence. A default input that is itself a monitor is
// not taken as a microphone: it would play the desktop twice.
func openAuto(clock Clock, o Options) ([]Input, string, error) {
	list, def, err := devices(o.Server)
	if err != nil {
		why := fmt.Sprintf("silence: no audio server answers (%v)", err)
		return []Input{silence{why}}, why, nil
	}
	var ins []Input
	var said []string
	switch {
	case def == "":
		said = append(said, "no microphone (no default input)")
	case strings.HasSuffix(def, ".monitor"):
		said = append(said, fmt.Sprintf("no microphone (the default input %s is a monitor)", def))
	default:
		ins = append(ins, newDeviceSource(SourceMic, defaultInput, "microphone "+def, o.Server, clock))
		said = append(said, "microphone "+def)
	}
	hasMonitor := false
	for _, d := range list {
		hasMonitor = hasMonitor || strings.HasSuffix(d.Name, ".monitor")
	}
	if hasMonitor {
		ins = append(ins, newDeviceSource(SourceDesktop, defaultMonitor, "desktop sound (monitor of the default output)", o.Server, clock))
		said = append(said, "desktop sound (monitor of the default output)")
	} else {
		said = append(said, "no desktop sound (no output)")
	}
	if len(ins) == 0 {
		why := "silence: " + strings.Join(said, ", ")
		return []Input{silence{why}}, why, nil
	}
	return ins, strings.Join(said, " + "), nil
}

func formatHz(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) + " Hz" }
