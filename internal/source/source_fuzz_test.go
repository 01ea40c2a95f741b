package source

import (
	"reflect"
	"testing"
)

// Any source string either parses or is refused with an error, never a
// panic; one that parses prints back to a string that parses to the same
// source (so a saved scene reloads as it was).
func FuzzParse(f *testing.F) {
	for _, s := range []string{"pattern", "screen:0:10,20,640x360", "window:0x1a00003", "image:/a.png", "color:#ff000080",
		"text:Live now!", "text:{size=64 color=#ffcc00 outline=#000000 font=/f.ttf}Back {soon}", "text:{size=9999}x", "text:{",
		"file:{once}/a.mp4", "file:{loop}{x}", "webcam:{size=640x480 fps=30 format=yuyv}/dev/video0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(sp.String())
		if err != nil {
			t.Fatalf("%q parsed, but its string %q does not: %v", s, sp.String(), err)
		}
		if !reflect.DeepEqual(sp, again) {
			t.Fatalf("%q -> %+v -> %q -> %+v", s, sp, sp.String(), again)
		}
	})
}
