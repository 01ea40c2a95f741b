package validate

import (
	"testing"

	"github.com/onair-studio/onair/stub/pb"
)

func TestServerURL(t *testing.T) {
	for _, c := range []struct {
		url     string
		withKey bool
		ok      bool
	}{
		{"srt://ingest.example.com:9000?latency=200", false, true},
		{"srt://ingest.example.com", true, false}, // no port
		{"whip+https://ingest.example.com/whip", true, true},
		{"whip+https:///whip", true, false}, // no host
		{"rtmp://host/live", true, true},
		{"rtmps://host:443/app", true, true},
		{"rtmp://host/live/KEY", false, true},
		{"rtmp://host/live", false, false}, // no key anywhere
		{"http://host/live", true, false},
		{"host/live", true, false},
		{"rtmp:///live", true, false},
		{"rtmp://host", true, false},
		{"rtmp://host:99999/live", true, false},
		{"", true, false},
	} {
		if err := ServerURL(c.url, c.withKey); (err == nil) != c.ok {
			t.Errorf("ServerURL(%q, %v) = %v, want ok=%v", c.url, c.withKey, err, c.ok)
		}
	}
}

func TestKeyAndNames(t *testing.T) {
	if Key("", "twitch", true) == nil {
		t.Error("a twitch destination without a key passed")
	}
	if err := Key("", "custom", true); err != nil {
		t.Errorf("custom without a key: %v", err)
	}
	if Key("ab cd", "twitch", true) == nil {
		t.Error("a key with a space passed")
	}
	if Name("main", false, []string{"main"}) == nil || Name("a/b", true, nil) == nil || Name("", true, nil) != nil ||
		Name("..", true, nil) == nil || Name("", false, nil) == nil {
		t.Error("name checks")
	}
}

func TestNumbers(t *testing.T) {
	if IntIn(1, 240, "fps")("0") == nil || IntIn(1, 240, "fps")("x") == nil || IntIn(1, 240, "fps")("30") != nil {
		t.Error("IntIn")
	}
	if Even(16, 7680)("1279") == nil || Even(16, 7680)("1280") != nil {
		t.Error("Even")
	}
	if Bitrate("50") == nil || Bitrate("4500") != nil {
		t.Error("Bitrate")
	}
	if Source("screen:0:0,0,640x360") != nil || Source("window:") == nil || Source("bogus") == nil {
		t.Error("Source")
	}
}

func TestParam(t *testing.T) {
	for _, c := range []struct {
		typ, v string
		ok     bool
	}{
		{"int", "12", true}, {"int", "1.5", false},
		{"float", "0.6", true}, {"float", "x", false},
		{"bool", "true", true}, {"bool", "yes", false},
		{"duration", "500ms", true}, {"duration", "5", false},
		{"color", "#ff8800", true}, {"color", "orange", false},
		{"position", "top-right", true}, {"position", "10,20", true}, {"position", "middle", false},
		// Where the dialog once let through what the pluginhost refuses, or
		// refused what it takes.
		{"position", "-5,-5", false}, {"float", "NaN", false}, {"position", "Bottom-Right", true}, {"color", "#FFF", true},
		{"string", "anything", true},
	} {
		if err := Param(&pb.PluginParam{Type: c.typ}, c.v); (err == nil) != c.ok {
			t.Errorf("Param(%s, %q) = %v, want ok=%v", c.typ, c.v, err, c.ok)
		}
	}
	if Param(&pb.PluginParam{Type: "string", Choices: []string{"a", "b"}}, "c") == nil {
		t.Error("a value outside the choices passed")
	}
	bounded := &pb.PluginParam{Type: "int", Min: "16", Max: "3072"}
	if Param(bounded, "-1") == nil || Param(bounded, "16") != nil {
		t.Error("the dialog does not apply a parameter's bounds as the pluginhost does")
	}
}
