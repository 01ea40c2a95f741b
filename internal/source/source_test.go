package source

import (
	"image"
	"image/color"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
		out  string // String(), when it differs from in
	}{
		{"pattern", Spec{Kind: KindPattern, Display: -1}, ""},
		{"screen", Spec{Kind: KindScreen, Display: -1}, ""},
		{"screen:0", Spec{Kind: KindScreen}, ""},
		{"screen:2", Spec{Kind: KindScreen, Display: 2}, ""},
		{"screen:0:100,100,640x360", Spec{Kind: KindScreen, Region: image.Rect(100, 100, 740, 460)}, ""},
		{"window:My Game: level 2", Spec{Kind: KindWindow, Display: -1, WindowName: "My Game: level 2"}, ""},
		{"window:0x1a00003", Spec{Kind: KindWindow, Display: -1, Window: 0x1a00003}, ""},
		{"window:0X1A00003", Spec{Kind: KindWindow, Display: -1, Window: 0x1a00003}, "window:0x1a00003"},
		{"window:27262979", Spec{Kind: KindWindow, Display: -1, Window: 27262979}, "window:0x1a00003"},
		{"image:/srv/a:b.png", Spec{Kind: KindImage, Display: -1, Path: "/srv/a:b.png"}, ""},
		{"color:#ff8800", Spec{Kind: KindColor, Display: -1, Color: color.NRGBA{255, 136, 0, 255}}, ""},
		{"color:FF880080", Spec{Kind: KindColor, Display: -1, Color: color.NRGBA{255, 136, 0, 128}}, "color:#ff880080"},
	} {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%q: got %+v, want %+v", tc.in, got, tc.want)
		}
		out := tc.out
		if out == "" {
			out = tc.in
		}
		if s := got.String(); s != out {
			t.Errorf("%q: String() = %q, want %q", tc.in, s, out)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, mention string }{
		{"", `unknown kind ""`},
		{"screan:0", `unknown kind "screan"`},
		{"pattern:3", `pattern takes no argument, got "3"`},
		{"screen:x", `display index "x"`},
		{"screen:-1", `display index "-1"`},
		{"screen:0:100,100", `region "100,100"`},
		{"screen:0:a,100,640x360", `"a" is not a number`},
		{"screen:0:0,0,640by360", `size "640by360" is not WxH`},
		{"screen:0:0,0,0x360", `size 0x360 is empty`},
		{"screen:0:-5,0,10x10", `position -5,0 is negative`},
		{"window:", "window needs a name or an id"},
		{"image:", "image needs a file"},
		{"color:#ff88", `colour "#ff88"`},
		{"color:#gg8800", `"gg8800" is not hexadecimal`},
	} {
		_, err := Parse(tc.in)
		if err == nil {
			t.Errorf("%q: no error", tc.in)
			continue
		}
		if !strings.Contains(err.Error(), tc.mention) || !strings.Contains(err.Error(), `source "`+tc.in+`"`) {
			t.Errorf("%q: error %q does not mention %q and the source", tc.in, err, tc.mention)
		}
	}
}
