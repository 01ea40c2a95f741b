// Package source reads source strings (pattern, screen:N:X,Y,WxH,
// window:NAME, image:PATH, color:#rrggbb): what a scene layer shows. It has no
// capture code, so the master and the window check sources without linking
// the capture's X11 and colour-conversion libraries.
package source

import (
	"fmt"
	"image"
	"image/color"
	"strconv"
	"strings"
)

// Kind is the type of a source.
type Kind string

// The source kinds.
const (
	KindPattern Kind = "pattern"
	KindScreen  Kind = "screen"
	KindWindow  Kind = "window"
	KindImage   Kind = "image"
	KindColor   Kind = "color"
	KindText    Kind = "text"
	// KindPlugin is a plugin's overlay placed as a layer: the scene says
	// where and how large, instead of the plugin's own parameters.
	KindPlugin Kind = "plugin"
)

// Spec is a parsed source string.
type Spec struct {
	Kind Kind
	// Display is the monitor index for screen sources, -1 for the whole X
	// screen.
	Display int
	// Region is the part of the monitor to capture, relative to its
	// top-left corner; empty means all of it.
	Region image.Rectangle
	// Window is the X window id of a window source; 0 means find the window
	// titled WindowName.
	Window     uint32
	WindowName string
	// Path is the file of an image or media file source, or a webcam's
	// device.
	Path string
	// Once plays a media file once instead of looping it.
	Once bool
	// CamSize, CamFPS and CamFormat are what a webcam is asked for; zero
	// or empty: the camera's own.
	CamSize   image.Point
	CamFPS    int
	CamFormat string
	// Color is the colour of a colour source, or of a text source's
	// letters (not premultiplied).
	Color color.NRGBA
	// Text, FontPath (empty: the built-in font), FontSize in pixels and
	// Outline (alpha 0: none) describe a text source (see parseText).
	Text     string
	FontPath string
	FontSize int
	Outline  color.NRGBA
	// Plugin names the plugin instance of a plugin layer.
	Plugin string
	// XDisplay names the X display for screen and window sources; empty
	// means $DISPLAY. It is not part of the string form.
	XDisplay string
}

// Parse parses a source string:
//
//	pattern
//	screen                  the whole X screen
//	screen:N                monitor N (0 is the primary)
//	screen:N:X,Y,WxH        region W×H at X,Y relative to monitor N's corner
//	window:NAME             the window titled NAME (exact title first, then
//	                        the first title containing NAME)
//	window:0xID | window:ID the window with that X id (hex or decimal)
//	image:PATH              a PNG or JPEG file
//	color:#RRGGBB           a solid colour; color:#RRGGBBAA adds opacity
//	file:[{once}]PATH       a media file, looped (see media.go)
//	webcam:[{…}]/dev/videoN a V4L2 camera (see media.go)
//
// Errors name the part that is wrong.
func Parse(s string) (Spec, error) {
	kind, arg, hasArg := strings.Cut(s, ":")
	bad := func(format string, a ...any) (Spec, error) {
		return Spec{}, fmt.Errorf("source %q: %s", s, fmt.Sprintf(format, a...))
	}
	sp := Spec{Kind: Kind(kind), Display: -1}
	switch sp.Kind {
	case KindPattern:
		if hasArg {
			return bad("pattern takes no argument, got %q", arg)
		}
	case KindScreen:
		if !hasArg {
			return sp, nil
		}
		idx, region, hasRegion := strings.Cut(arg, ":")
		n, err := strconv.Atoi(idx)
		if err != nil || n < 0 {
			return bad("display index %q is not a number 0 or above", idx)
		}
		sp.Display = n
		if hasRegion {
			r, err := parseRegion(region)
			if err != nil {
				return bad("region %q: %v", region, err)
			}
			sp.Region = r
		}
	case KindWindow:
		if arg == "" {
			return bad("window needs a name or an id, as window:NAME or window:0x1a00003")
		}
		if id, ok := parseWindowID(arg); ok {
			sp.Window = id
		} else {
			sp.WindowName = arg
		}
	case KindImage:
		if arg == "" {
			return bad("image needs a file, as image:/path/logo.png")
		}
		sp.Path = arg
	case KindColor:
		c, err := parseColor(arg)
		if err != nil {
			return bad("colour %q: %v", arg, err)
		}
		sp.Color = c
	case KindText:
		if err := parseText(&sp, arg); err != nil {
			return bad("%v", err)
		}
	case KindFile:
		if err := parseFile(&sp, arg); err != nil {
			return bad("%v", err)
		}
	case KindWebcam:
		if err := parseWebcam(&sp, arg); err != nil {
			return bad("%v", err)
		}
	case KindPlugin:
		if arg == "" {
			return bad("plugin needs the plugin's name, as plugin:clock")
		}
		sp.Plugin = arg
	default:
		return bad("unknown kind %q (want pattern, screen, window, image, color, text, file, webcam or plugin)", kind)
	}
	return sp, nil
}

// String returns the source string that Parse turns back into sp.
func (sp Spec) String() string {
	switch sp.Kind {
	case KindScreen:
		switch {
		case sp.Display < 0:
			return "screen"
		case sp.Region.Empty():
			return fmt.Sprintf("screen:%d", sp.Display)
		}
		r := sp.Region
		return fmt.Sprintf("screen:%d:%d,%d,%dx%d", sp.Display, r.Min.X, r.Min.Y, r.Dx(), r.Dy())
	case KindWindow:
		if sp.Window != 0 {
			return fmt.Sprintf("window:0x%x", sp.Window)
		}
		return "window:" + sp.WindowName
	case KindImage:
		return "image:" + sp.Path
	case KindColor:
		c := sp.Color
		if c.A == 255 {
			return fmt.Sprintf("color:#%02x%02x%02x", c.R, c.G, c.B)
		}
		return fmt.Sprintf("color:#%02x%02x%02x%02x", c.R, c.G, c.B, c.A)
	case KindText:
		return sp.textString()
	case KindPlugin:
		return "plugin:" + sp.Plugin
	case KindFile:
		return sp.fileString()
	case KindWebcam:
		return sp.webcamString()
	}
	return string(sp.Kind)
}

// parseRegion parses "X,Y,WxH".
func parseRegion(s string) (image.Rectangle, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return image.Rectangle{}, fmt.Errorf("want X,Y,WxH")
	}
	ws, hs, ok := strings.Cut(parts[2], "x")
	if !ok {
		return image.Rectangle{}, fmt.Errorf("size %q is not WxH", parts[2])
	}
	var v [4]int
	for i, p := range []string{parts[0], parts[1], ws, hs} {
		n, err := strconv.Atoi(p)
		if err != nil {
			return image.Rectangle{}, fmt.Errorf("%q is not a number", p)
		}
		v[i] = n
	}
	if v[2] <= 0 || v[3] <= 0 {
		return image.Rectangle{}, fmt.Errorf("size %dx%d is empty", v[2], v[3])
	}
	if v[0] < 0 || v[1] < 0 {
		return image.Rectangle{}, fmt.Errorf("position %d,%d is negative", v[0], v[1])
	}
	return image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]), nil
}

func parseWindowID(s string) (uint32, bool) {
	var n uint64
	var err error
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		n, err = strconv.ParseUint(h, 16, 32)
	} else {
		n, err = strconv.ParseUint(s, 10, 32)
	}
	return uint32(n), err == nil && n != 0
}

func parseColor(s string) (color.NRGBA, error) {
	h := strings.TrimPrefix(s, "#")
	if len(h) != 6 && len(h) != 8 {
		return color.NRGBA{}, fmt.Errorf("want #RRGGBB or #RRGGBBAA")
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return color.NRGBA{}, fmt.Errorf("%q is not hexadecimal", h)
	}
	if len(h) == 6 {
		v = v<<8 | 0xff
	}
	return color.NRGBA{R: uint8(v >> 24), G: uint8(v >> 16), B: uint8(v >> 8), A: uint8(v)}, nil
}
