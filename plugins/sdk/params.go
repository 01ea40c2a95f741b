package sdk

import (
	"errors"
	"fmt"
	"image/color"
	"maps"
	"slices"
	"strings"

	"github.com/onair-studio/onair/internal/param"
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
func ParseColor(s string) (color.RGBA, error) { return param.ParseColor(s) }

// Position is where an overlay goes: an anchor (AX, AY in 0, 0.5, 1 of the
// free space) or, when Absolute, the top-left corner at Pt. Its Place method
// returns the top-left corner for an overlay of a given size.
type Position = param.Position

// ParsePosition reads an anchor (top-left, top, top-right, left, center,
// right, bottom-left, bottom, bottom-right; any case) or "X,Y" in pixels from
// the output's top-left corner.
func ParsePosition(s string) (Position, error) { return param.ParsePosition(s) }

// CheckValue reports whether v is a valid value of parameter type typ. The
// empty string is valid for every type (the plugin decides what it means).
// The GUI's plugin dialog checks with the same rule.
func CheckValue(typ, v string) error { return param.Check(typ, v) }

// CheckInfo reports whether a plugin's Info is usable: a known kind and a
// schema with unique names, known types and valid defaults.
func CheckInfo(i Info) error {
	if i.Kind != KindOverlay && i.Kind != KindEvent && i.Kind != KindFilter {
		return fmt.Errorf("kind %q (want %q, %q or %q)", i.Kind, KindOverlay, KindEvent, KindFilter)
	}
	if err := checkFormats(i); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range i.Params {
		if p.Name == "" || seen[p.Name] {
			return fmt.Errorf("parameter name %q empty or repeated", p.Name)
		}
		seen[p.Name] = true
		if err := param.CheckBounds(p.Type, p.Min, p.Max); err != nil {
			return fmt.Errorf("parameter %s: %w", p.Name, err)
		}
		if err := param.CheckRange(p.Type, p.Default, p.Min, p.Max); err != nil {
			return fmt.Errorf("parameter %s default: %w", p.Name, err)
		}
		if p.Default != "" && len(p.Choices) > 0 && !slices.Contains(p.Choices, p.Default) {
			return fmt.Errorf("parameter %s default %q is not one of %v", p.Name, p.Default, p.Choices)
		}
	}
	return nil
}

// Resolve checks the given parameters against the schema and returns every
// parameter of the schema with its value (given, else the default). The
// error names every parameter that is wrong, each with what a valid value
// looks like. The pluginhost and the master's live changes both check with
// it.
func Resolve(schema []Param, given map[string]string) (map[string]string, error) {
	byName := map[string]Param{}
	for _, p := range schema {
		byName[p.Name] = p
	}
	var errs []string
	for _, name := range slices.Sorted(maps.Keys(given)) {
		if _, ok := byName[name]; !ok {
			known := ParamNames(schema)
			if len(known) == 0 {
				errs = append(errs, fmt.Sprintf("unknown parameter %q (this plugin takes none)", name))
			} else {
				errs = append(errs, fmt.Sprintf("unknown parameter %q (known: %s)", name, strings.Join(known, ", ")))
			}
		}
	}
	out := make(map[string]string, len(schema))
	for _, p := range schema {
		v, ok := given[p.Name]
		if !ok {
			v = p.Default
		}
		if err := param.CheckRange(p.Type, v, p.Min, p.Max); err != nil {
			errs = append(errs, fmt.Sprintf("parameter %s: %v", p.Name, err))
		} else if v != "" && len(p.Choices) > 0 && !slices.Contains(p.Choices, v) {
			errs = append(errs, fmt.Sprintf("parameter %s: %q is not one of %s", p.Name, v, strings.Join(p.Choices, ", ")))
		}
		out[p.Name] = v
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return out, nil
}

// InfoFromProto converts the wire form of Info back.
func InfoFromProto(pi *pb.PluginInfo) Info {
	i := Info{Name: pi.GetName(), Version: pi.GetVersion(), Kind: pi.GetKind(), Description: pi.GetDescription(),
		Formats: pi.GetFormats()}
	for _, p := range pi.GetParams() {
		i.Params = append(i.Params, Param{Name: p.GetName(), Type: p.GetType(), Default: p.GetDefault(),
			Description: p.GetDescription(), Choices: p.GetChoices(), Min: p.GetMin(), Max: p.GetMax()})
	}
	return i
}
