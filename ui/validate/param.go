package validate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onair-studio/onair/internal/param"
	"github.com/onair-studio/onair/stub/pb"
)

// Param checks a plugin parameter value against its schema entry with the
// pluginhost's own rule. Empty means the default.
func Param(p *pb.PluginParam, v string) error {
	if v == "" {
		return nil
	}
	if c := p.GetChoices(); len(c) > 0 && !slices.Contains(c, v) {
		return fmt.Errorf("choose one of %s", strings.Join(c, ", "))
	}
	return param.CheckRange(p.GetType(), v, p.GetMin(), p.GetMax())
}
