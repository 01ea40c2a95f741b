package display

import (
	"strings"
	"testing"

	"github.com/onair-studio/onair/internal/capture/xvfb"
)

// A running X server answers; a display that names no server, a malformed
// one and none at all are refused with the reason.
func TestReachable(t *testing.T) {
	x, err := xvfb.Start(320, 240)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	t.Setenv("DISPLAY", x.Display)
	if err := Reachable(); err != nil {
		t.Fatalf("Xvfb on %s: %v", x.Display, err)
	}
	for d, want := range map[string]string{
		":987":     "does not answer",
		":987.0":   "does not answer",
		"nonsense": "want HOST:N",
		":x":       "want HOST:N",
		"":         "not set",
	} {
		t.Setenv("DISPLAY", d)
		if err := Reachable(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DISPLAY=%q: %v, want an error saying %q", d, err, want)
		}
	}
}

func TestX11Address(t *testing.T) {
	for d, want := range map[string]string{
		":0": "unix /tmp/.X11-unix/X0", ":1.0": "unix /tmp/.X11-unix/X1", "unix:2": "unix /tmp/.X11-unix/X2",
		"studio-pc:10.0": "tcp studio-pc:6010", "/private/tmp/launch/org.xquartz:0": "unix /private/tmp/launch/org.xquartz:0",
	} {
		n, a, err := x11Address(d)
		if got := n + " " + a; err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", d, got, err, want)
		}
	}
}
