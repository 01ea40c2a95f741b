package source

import (
	"fmt"
	"image/color"
	"os"
	"strconv"
	"strings"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
)

// Text sources draw a line of text:
//
//	text:Live now!
//	text:{size=64 color=#ffcc00 outline=#000000 font=/path/font.ttf}Live now!
//
// Options (all optional): size in pixels (default 48, 4..1024), color
// (default white), outline colour (default none; drawn 2 px wide) and a
// TrueType/OpenType font file (default the built-in Go Bold). A font path
// holds no spaces or braces.
const (
	DefaultTextSize = 48
	maxTextSize     = 1024
)

// parseText fills sp from the argument of a text source.
func parseText(sp *Spec, arg string) error {
	sp.FontSize, sp.Color = DefaultTextSize, color.NRGBA{255, 255, 255, 255}
	opts, arg, err := cutOptions(arg)
	if err != nil {
		return err
	}
	for _, kv := range opts {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "size":
			n, err := strconv.Atoi(v)
			if err != nil || n < 4 || n > maxTextSize {
				return fmt.Errorf("size %q is not a number of pixels 4..%d", v, maxTextSize)
			}
			sp.FontSize = n
		case "color", "outline":
			c, err := parseColor(v)
			if err != nil {
				return fmt.Errorf("%s %q: %v", k, v, err)
			}
			if k == "color" {
				sp.Color = c
			} else if c.A != 0 { // a transparent outline is none
				sp.Outline = c
			}
		case "font":
			if v == "" {
				return fmt.Errorf("font= names no file")
			}
			sp.FontPath = v
		default:
			return fmt.Errorf("unknown option %q (want size, color, outline, font)", k)
		}
	}
	if arg == "" {
		return fmt.Errorf("text needs something to show, as text:Live now!")
	}
	sp.Text = arg
	return nil
}

// textString is the source string of a text spec.
func (sp Spec) textString() string {
	var opts []string
	if sp.FontSize != DefaultTextSize {
		opts = append(opts, "size="+strconv.Itoa(sp.FontSize))
	}
	if sp.Color != (color.NRGBA{255, 255, 255, 255}) {
		opts = append(opts, "color="+hex(sp.Color))
	}
	if sp.Outline.A != 0 {
		opts = append(opts, "outline="+hex(sp.Outline))
	}
	if sp.FontPath != "" {
		opts = append(opts, "font="+sp.FontPath)
	}
	if len(opts) == 0 && !strings.HasPrefix(sp.Text, "{") {
		return "text:" + sp.Text
	}
	return "text:{" + strings.Join(opts, " ") + "}" + sp.Text
}

func hex(c color.NRGBA) string {
	if c.A == 255 {
		return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B)
	}
	return fmt.Sprintf("#%02x%02x%02x%02x", c.R, c.G, c.B, c.A)
}

// LoadFont reads a TrueType or OpenType font file; an empty path is the
// built-in font. The config checks fonts with it, and text sources draw
// with it, so a font the config takes is one that draws.
func LoadFont(path string) (*opentype.Font, error) {
	data := gobold.TTF
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("font: %v", err)
		}
	}
	f, err := opentype.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("font %s is not a TrueType or OpenType font: %v", path, err)
	}
	return f, nil
}
