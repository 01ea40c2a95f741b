// Package param holds the plugin parameter types and the one set of rules
// for their values. The plugin SDK, the pluginhost and the GUI's plugin
// dialog all check with it, so a value the dialog accepts is one the plugin
// gets. It has no plugin-system dependencies, so the GUI can use it.
package param

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"
	"time"
)

// Parameter types.
const (
	String   = "string"
	Int      = "int"
	Float    = "float"
	Bool     = "bool"
	Duration = "duration" // Go syntax: 500ms, 2s, 1m30s
	Color    = "color"    // #rgb, #rrggbb, #rrggbbaa
	Place    = "position" // an anchor or X,Y
)

// types lists every parameter type.
var types = []string{String, Int, Float, Bool, Duration, Color, Place}

// Anchors are the named positions, in reading order.
var Anchors = []string{"top-left", "top", "top-right", "left", "center", "right", "bottom-left", "bottom", "bottom-right"}

// hints say what a valid value of each type looks like.
var hints = map[string]string{
	Int:      "a whole number",
	Float:    "a finite number, e.g. 0.5",
	Bool:     "true or false",
	Duration: "e.g. 500ms, 2s, 1m30s",
	Color:    "#rgb, #rrggbb or #rrggbbaa",
	Place:    strings.Join(Anchors, ", ") + ", or X,Y in pixels",
}

// Check reports whether v is a valid value of type typ. The empty string is
// valid for every type (the plugin decides what it means). Numbers, booleans
// and durations are taken as written, since plugins parse them with strconv
// and time; colours and positions may carry spaces, as their parsers trim.
func Check(typ, v string) error {
	var err error
	switch typ {
	case String:
		return nil
	case Int:
		_, err = strconv.Atoi(v)
	case Float:
		var f float64
		if f, err = strconv.ParseFloat(v, 64); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			err = errors.New("not finite")
		}
	case Bool:
		_, err = strconv.ParseBool(v)
	case Duration:
		_, err = time.ParseDuration(v)
	case Color:
		_, err = ParseColor(v)
	case Place:
		_, err = ParsePosition(v)
	default:
		return fmt.Errorf("unknown parameter type %q", typ)
	}
	if err != nil && v != "" {
		return fmt.Errorf("%q is not a valid %s (want %s)", v, typ, hints[typ])
	}
	return nil
}

// CheckRange is Check for a parameter with optional bounds: min and max
// (inclusive, empty for none) apply to int and float values.
func CheckRange(typ, v, min, max string) error {
	if err := Check(typ, v); err != nil || v == "" || (min == "" && max == "") || (typ != Int && typ != Float) {
		return err
	}
	f, _ := strconv.ParseFloat(v, 64)
	lo, errLo := strconv.ParseFloat(min, 64)
	hi, errHi := strconv.ParseFloat(max, 64)
	if (errLo == nil && f < lo) || (errHi == nil && f > hi) {
		return fmt.Errorf("%q is out of range (want %s)", v, RangeHint(typ, min, max))
	}
	return nil
}

// RangeHint says which values of a bounded int or float are valid.
func RangeHint(typ, min, max string) string {
	switch {
	case min != "" && max != "":
		return fmt.Sprintf("%s from %s to %s", hints[typ], min, max)
	case min != "":
		return fmt.Sprintf("%s of at least %s", hints[typ], min)
	}
	return fmt.Sprintf("%s of at most %s", hints[typ], max)
}

// CheckBounds reports whether min and max are usable bounds for type typ.
func CheckBounds(typ, min, max string) error {
	if min == "" && max == "" {
		return nil
	}
	if typ != Int && typ != Float {
		return fmt.Errorf("bounds on a %s parameter (only int and float take them)", typ)
	}
	for _, b := range []string{min, max} {
		if err := Check(typ, b); err != nil {
			return fmt.Errorf("bound %v", err)
		}
	}
	lo, errLo := strconv.ParseFloat(min, 64)
	hi, errHi := strconv.ParseFloat(max, 64)
	if errLo == nil && errHi == nil && lo > hi {
		return fmt.Errorf("min %s is above max %s", min, max)
	}
	return nil
}

// ParseColor reads #rgb, #rrggbb or #rrggbbaa (straight alpha, as people write
// colours) and returns it premultiplied, as Go's colour types are.
func ParseColor(s string) (color.RGBA, error) {
	h := strings.TrimPrefix(strings.TrimSpace(s), "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) == 6 {
		h += "ff"
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if len(h) != 8 || err != nil {
		return color.RGBA{}, fmt.Errorf("colour %q: want %s", s, hints[Color])
	}
	r, g, b, a := uint32(v>>24), uint32(v>>16&0xff), uint32(v>>8&0xff), uint32(v&0xff)
	return color.RGBA{R: uint8(r * a / 255), G: uint8(g * a / 255), B: uint8(b * a / 255), A: uint8(a)}, nil
}

// Position is where an overlay goes: an anchor (AX, AY in 0, 0.5, 1 of the
// free space) or, when Absolute, the top-left corner at Pt.
type Position struct {
	AX, AY   float64
	Absolute bool
	Pt       image.Point
}

var anchorAt = map[string][2]float64{
	"top-left": {0, 0}, "top": {0.5, 0}, "top-right": {1, 0},
	"left": {0, 0.5}, "center": {0.5, 0.5}, "right": {1, 0.5},
	"bottom-left": {0, 1}, "bottom": {0.5, 1}, "bottom-right": {1, 1},
}

// ParsePosition reads an anchor (see Anchors, any case) or "X,Y" in pixels
// from the output's top-left corner.
func ParsePosition(s string) (Position, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if a, ok := anchorAt[s]; ok {
		return Position{AX: a[0], AY: a[1]}, nil
	}
	xs, ys, ok := strings.Cut(s, ",")
	x, errX := strconv.Atoi(strings.TrimSpace(xs))
	y, errY := strconv.Atoi(strings.TrimSpace(ys))
	if !ok || errX != nil || errY != nil || x < 0 || y < 0 {
		return Position{}, fmt.Errorf("position %q: want %s", s, hints[Place])
	}
	return Position{Absolute: true, Pt: image.Pt(x, y)}, nil
}

// Place returns the top-left corner for an overlay of the given size in the
// output, keeping margin pixels from the edges it is anchored to.
func (p Position) Place(size, output image.Point, margin int) image.Point {
	if p.Absolute {
		return p.Pt
	}
	free := output.Sub(size).Sub(image.Pt(2*margin, 2*margin))
	return image.Pt(margin+int(math.Round(p.AX*float64(free.X))), margin+int(math.Round(p.AY*float64(free.Y))))
}
