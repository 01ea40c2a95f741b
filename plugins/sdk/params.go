package sdk

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onair-studio/onair/stub/pb"
)

// Colours for convenience.
var (
	White       = color.RGBA{255, 255, 255, 255}
	Black       = color.RGBA{0, 0, 0, 255}
	Transparent = color.RGBA{}
)

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
		return color.RGBA{}, fmt.Errorf("colour %q: want #rgb, #rrggbb or #rrggbbaa", s)
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

var anchors = map[string][2]float64{
	"top-left": {0, 0}, "top": {0.5, 0}, "top-right": {1, 0},
	"left": {0, 0.5}, "center": {0.5, 0.5}, "right": {1, 0.5},
	"bottom-left": {0, 1}, "bottom": {0.5, 1}, "bottom-right": {1, 1},
}

// ParsePosition reads an anchor (top-left, top, top-right, left, center,
// right, bottom-left, bottom, bottom-right) or "X,Y" in pixels from the
// output's top-left corner.
func ParsePosition(s string) (Position, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if a, ok := anchors[s]; ok {
		return Position{AX: a[0], AY: a[1]}, nil
	}
	xs, ys, ok := strings.Cut(s, ",")
	x, errX := strconv.Atoi(strings.TrimSpace(xs))
	y, errY := strconv.Atoi(strings.TrimSpace(ys))
	if !ok || errX != nil || errY != nil || x < 0 || y < 0 {
		return Position{}, fmt.Errorf("position %q: want top-left, top, top-right, left, center, right, "+
			"bottom-left, bottom, bottom-right, or X,Y", s)
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

// CheckValue reports whether v is a valid value of parameter type typ. The
// empty string is valid for every type (the plugin decides what it means).
func CheckValue(typ, v string) error {
	var err error
	switch typ {
	case TypeString, TypeInt, TypeFloat, TypeBool, TypeDuration, TypeColor, TypePosition:
		if v == "" {
			return nil
		}
	default:
		return fmt.Errorf("unknown parameter type %q", typ)
	}
	switch typ {
	case TypeInt:
		_, err = strconv.Atoi(v)
	case TypeFloat:
		var f float64
		if f, err = strconv.ParseFloat(v, 64); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			err = fmt.Errorf("not a finite number")
		}
	case TypeBool:
		_, err = strconv.ParseBool(v)
	case TypeDuration:
		_, err = time.ParseDuration(v)
	case TypeColor:
		_, err = ParseColor(v)
	case TypePosition:
		_, err = ParsePosition(v)
	}
	if err != nil {
		return fmt.Errorf("%q is not a valid %s", v, typ)
	}
	return nil
}

// CheckInfo reports whether a plugin's Info is usable: a known kind and a
// schema with unique names, known types and valid defaults.
func CheckInfo(i Info) error {
	if i.Kind != KindOverlay && i.Kind != KindEvent {
		return fmt.Errorf("kind %q (want %q or %q)", i.Kind, KindOverlay, KindEvent)
	}
	seen := map[string]bool{}
	for _, p := range i.Params {
		if p.Name == "" || seen[p.Name] {
			return fmt.Errorf("parameter name %q empty or repeated", p.Name)
		}
		seen[p.Name] = true
		if err := CheckValue(p.Type, p.Default); err != nil {
			return fmt.Errorf("parameter %s default: %w", p.Name, err)
		}
		if p.Default != "" && len(p.Choices) > 0 && !slices.Contains(p.Choices, p.Default) {
			return fmt.Errorf("parameter %s default %q is not one of %v", p.Name, p.Default, p.Choices)
		}
	}
	return nil
}

// Resolve checks the given parameters against the schema and returns every
// parameter of the schema with its value (given, else the default).
func Resolve(schema []Param, given map[string]string) (map[string]string, error) {
	byName := map[string]Param{}
	for _, p := range schema {
		byName[p.Name] = p
	}
	for name := range given {
		if _, ok := byName[name]; !ok {
			known := ParamNames(schema)
			if len(known) == 0 {
				return nil, fmt.Errorf("unknown parameter %q (this plugin takes none)", name)
			}
			return nil, fmt.Errorf("unknown parameter %q (known: %s)", name, strings.Join(known, ", "))
		}
	}
	out := make(map[string]string, len(schema))
	for _, p := range schema {
		v, ok := given[p.Name]
		if !ok {
			v = p.Default
		}
		if err := CheckValue(p.Type, v); err != nil {
			return nil, fmt.Errorf("parameter %s: %w", p.Name, err)
		}
		if v != "" && len(p.Choices) > 0 && !slices.Contains(p.Choices, v) {
			return nil, fmt.Errorf("parameter %s: %q is not one of %s", p.Name, v, strings.Join(p.Choices, ", "))
		}
		out[p.Name] = v
	}
	return out, nil
}

// InfoFromProto converts the wire form of Info back.
func InfoFromProto(pi *pb.PluginInfo) Info {
	i := Info{Name: pi.GetName(), Version: pi.GetVersion(), Kind: pi.GetKind(), Description: pi.GetDescription()}
	for _, p := range pi.GetParams() {
		i.Params = append(i.Params, Param{Name: p.GetName(), Type: p.GetType(), Default: p.GetDefault(),
			Description: p.GetDescription(), Choices: p.GetChoices()})
	}
	return i
}
