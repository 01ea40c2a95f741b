// Command clock is an OnAir overlay plugin: the time (or a fixed text) in a
// box at a corner of the program.
package main

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"strconv"
	"time"

	"github.com/onair-studio/onair/plugins/sdk"
)

type clock struct {
	sdk.Base
	text       string
	format     string
	pos        sdk.Position
	size       int
	margin     int
	fg, bg     color.RGBA
	now        func() time.Time
	lastText   string
	lastHeight int
	label      *image.RGBA
}

func (*clock) Info() sdk.Info {
	return sdk.Info{
		Name: "clock", Version: "1.0.0", Kind: sdk.KindOverlay,
		Description: "Shows the time, or a fixed text, in a box.",
		Params: []sdk.Param{
			{Name: "text", Type: sdk.TypeString, Description: "fixed text to show instead of the time"},
			{Name: "format", Type: sdk.TypeString, Default: "15:04:05", Description: "time layout in Go syntax (15:04:05.0 shows tenths)"},
			{Name: "position", Type: sdk.TypePosition, Default: "top-right", Description: "where the box goes"},
			{Name: "size", Type: sdk.TypeInt, Default: "32", Description: "text height in pixels (8..512)"},
			{Name: "color", Type: sdk.TypeColor, Default: "#ffffff", Description: "text colour"},
			{Name: "background", Type: sdk.TypeColor, Default: "#00000099", Description: "box colour (#00000000 for none)"},
			{Name: "margin", Type: sdk.TypeInt, Default: "16", Description: "distance from the edges in pixels"},
		},
	}
}

func (c *clock) Configure(_ context.Context, p map[string]string) error {
	size, _ := strconv.Atoi(p["size"])
	if size < 8 || size > 512 {
		return fmt.Errorf("size %d: want 8..512", size)
	}
	pos, _ := sdk.ParsePosition(p["position"])
	fg, _ := sdk.ParseColor(p["color"])
	bg, _ := sdk.ParseColor(p["background"])
	margin, _ := strconv.Atoi(p["margin"])
	c.text, c.format, c.pos, c.size, c.fg, c.bg, c.margin = p["text"], p["format"], pos, size, fg, bg, max(margin, 0)
	if c.format == "" {
		c.format = "15:04:05"
	}
	c.label = nil
	return nil
}

func (c *clock) Render(_ context.Context, out image.Point) (sdk.Frame, error) {
	text := c.text
	if text == "" {
		text = c.now().Format(c.format)
	}
	height := min(c.size, out.Y)
	if c.label == nil || text != c.lastText || height != c.lastHeight {
		c.label = sdk.Text(text, height, c.fg, c.bg, height/4)
		c.lastText, c.lastHeight = text, height
	}
	at := c.pos.Place(c.label.Bounds().Size(), out, c.margin)
	return sdk.Frame{Image: c.label, At: at}, nil
}

func main() { sdk.Serve(&clock{now: time.Now}) }
