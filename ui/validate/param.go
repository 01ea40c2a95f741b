package validate

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onair-studio/onair/stub/pb"
)

var (
	hexColor   = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$`)
	pixelPos   = regexp.MustCompile(`^-?\d+,-?\d+$`)
	namedPlace = []string{"top-left", "top", "top-right", "left", "center", "right", "bottom-left", "bottom", "bottom-right"}
)

// Param checks a plugin parameter value against its schema entry, as the
// pluginhost will. Empty means the default.
func Param(p *pb.PluginParam, v string) error {
	if v == "" {
		return nil
	}
	if c := p.GetChoices(); len(c) > 0 && !slices.Contains(c, v) {
		return fmt.Errorf("choose one of %s", strings.Join(c, ", "))
	}
	var err error
	switch p.GetType() {
	case "int":
		_, err = strconv.Atoi(v)
	case "float":
		_, err = strconv.ParseFloat(v, 64)
	case "bool":
		_, err = strconv.ParseBool(v)
	case "duration":
		_, err = time.ParseDuration(v)
	case "color":
		if !hexColor.MatchString(v) {
			return fmt.Errorf("want #rgb, #rrggbb or #rrggbbaa")
		}
	case "position":
		if !slices.Contains(namedPlace, v) && !pixelPos.MatchString(v) {
			return fmt.Errorf("want %s, or X,Y in pixels", strings.Join(namedPlace, ", "))
		}
	}
	if err != nil {
		return fmt.Errorf("not a %s", p.GetType())
	}
	return nil
}
