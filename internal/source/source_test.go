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
		{"file:/srv/clip.mp4", Spec{Kind: KindFile, Display: -1, Path: "/srv/clip.mp4"}, ""},
		{"file:{loop}/srv/clip.mp4", Spec{Kind: KindFile, Display: -1, Path: "/srv/clip.mp4"}, "file:/srv/clip.mp4"},
		{"file:{once}/srv/intro.webm", Spec{Kind: KindFile, Display: -1, Path: "/srv/intro.webm", Once: true}, ""},
		{"file:{loop}{odd}.mkv", Spec{Kind: KindFile, Display: -1, Path: "{odd}.mkv"}, ""},
		{"webcam:/dev/video0", Spec{Kind: KindWebcam, Display: -1, Path: "/dev/video0"}, ""},
		{"webcam:{size=1280x720 fps=30 format=mjpeg}/dev/video2", Spec{Kind: KindWebcam, Display: -1, Path: "/dev/video2",
			CamSize: image.Pt(1280, 720), CamFPS: 30, CamFormat: WebcamMJPEG}, ""},
		{"webcam:{format=yuyv}/dev/video0", Spec{Kind: KindWebcam, Display: -1, Path: "/dev/video0", CamFormat: WebcamYUYV}, ""},
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
		{"file:", "file needs a media file"},
		{"file:{once}", "file needs a media file"},
		{"file:{twice}/a.mp4", `unknown option "twice" (want loop or once)`},
		{"file:{once/a.mp4", "no closing }"},
		{"webcam:", "webcam needs a V4L2 device"},
		{"webcam:video0", "webcam needs a V4L2 device"},
		{"webcam:{size=0x720}/dev/video0", `size "0x720" is not WxH`},
		{"webcam:{size=20000x720}/dev/video0", `size "20000x720"`},
		{"webcam:{fps=0}/dev/video0", `fps "0"`},
		{"webcam:{format=h264}/dev/video0", `format "h264": want mjpeg or yuyv`},
		{"webcam:{zoom=2}/dev/video0", `unknown option "zoom"`},
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
