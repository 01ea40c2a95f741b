package audiolimits

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestChecksSayWhatIsValid(t *testing.T) {
	for _, db := range []float64{VolumeMinDB, -6, 0, VolumeMaxDB} {
		if err := CheckVolumeDB(db); err != nil {
			t.Errorf("volume %v refused: %v", db, err)
		}
	}
	for _, db := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -60.01, 20.5} {
		err := CheckVolumeDB(db)
		if err == nil || !strings.Contains(err.Error(), "from -60 to +20") {
			t.Errorf("volume %v: got %v, want a refusal naming -60 to +20", db, err)
		}
	}
	for _, d := range []time.Duration{-MaxSyncOffset, 0, 40 * time.Millisecond, MaxSyncOffset} {
		if err := CheckSyncOffset(d); err != nil {
			t.Errorf("offset %v refused: %v", d, err)
		}
	}
	for _, d := range []time.Duration{-MaxSyncOffset - time.Millisecond, 2001 * time.Millisecond} {
		err := CheckSyncOffset(d)
		if err == nil || !strings.Contains(err.Error(), "-2000 to 2000 ms") {
			t.Errorf("offset %v: got %v, want a refusal naming -2000 to 2000 ms", d, err)
		}
	}
	for _, k := range []int{64, 160, 320} {
		if err := CheckBitrateKbps(k); err != nil {
			t.Errorf("bitrate %d refused: %v", k, err)
		}
	}
	for _, k := range []int{0, 63, 321} {
		err := CheckBitrateKbps(k)
		if err == nil || !strings.Contains(err.Error(), "64 to 320") {
			t.Errorf("bitrate %d: got %v, want a refusal naming 64 to 320", k, err)
		}
	}
}

func TestSourceStrings(t *testing.T) {
	for spec, want := range map[string]Source{
		"auto": {Kind: "auto"}, "mic": {Kind: "mic"}, "desktop": {Kind: "desktop"}, "none": {Kind: "none"},
		"pulse:alsa_input.usb-Blue_Yeti-00.analog-stereo": {Kind: "pulse", Device: "alsa_input.usb-Blue_Yeti-00.analog-stereo"},
		"tone:1000": {Kind: "tone", ToneHz: 1000}, "layer:intro clip": {Kind: "layer", Device: "intro clip"}, "tone:440.5": {Kind: "tone", ToneHz: 440.5},
	} {
		if got, err := ParseSource(spec); err != nil || got != want {
			t.Errorf("%q: got %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for spec, want := range map[string]string{
		"":               "want auto, mic, desktop, none, pulse:NAME, tone:FREQ or layer:NAME",
		"webcam":         "want auto, mic, desktop, none, pulse:NAME, tone:FREQ or layer:NAME",
		"Mic":            "want auto, mic",
		"pulse:":         "want pulse:NAME",
		"pulse:a b":      "no spaces",
		"tone:0":         "from 1 to 20000, e.g. tone:1000",
		"tone:NaN":       "from 1 to 20000",
		"tone:20001":     "from 1 to 20000",
		"tone:1e3x":      "from 1 to 20000",
		"pulse:a\nb":     "want pulse:NAME",
		"tone:+Inf":      "from 1 to 20000",
		"desktop:0":      "want auto",
		"pulse:x\x00y":   "want pulse:NAME",
		"tone:-1000":     "from 1 to 20000",
		"tone:":          "from 1 to 20000",
		"tone:1000 ":     "from 1 to 20000",
		" mic":           "want auto",
		"auto,mic":       "want auto",
		"pulse: leading": "no spaces",
		"layer:":         "want layer:NAME",
	} {
		if _, err := ParseSource(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want a refusal saying %q", spec, err, want)
		}
	}
	for _, list := range [][]string{{"auto"}, {"mic", "desktop", "tone:1000"}, {"none"}, nil} {
		if err := CheckSourceList(list); err != nil {
			t.Errorf("%q refused: %v", list, err)
		}
	}
	for _, c := range []struct {
		list []string
		want string
	}{
		{[]string{"mic", "mic"}, `"mic" is listed twice`},
		{[]string{"auto", "desktop"}, "either auto, or mic and desktop"},
		{make([]string, MaxSources+1), "at most 16"},
	} {
		if err := CheckSourceList(c.list); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.list, err, c.want)
		}
	}
	for _, ms := range []int64{-2000, 0, 2000} {
		if err := CheckOffsetMS(ms); err != nil {
			t.Errorf("offset %d refused: %v", ms, err)
		}
	}
	// 2^63/10^6 ms and more would wrap as a time.Duration.
	for _, ms := range []int64{2001, -2001, 9223372036855, math.MaxInt64, math.MinInt64} {
		if err := CheckOffsetMS(ms); err == nil || !strings.Contains(err.Error(), "-2000 to 2000 ms") {
			t.Errorf("offset %d: got %v", ms, err)
		}
	}
}
