// Package transition names the ways the program changes from one scene to
// the next, and checks them, for the master (which has no capture code) and
// the encoder's compositor alike.
package transition

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Kind is how the new scene replaces the old one.
type Kind string

// The transitions.
const (
	// Cut shows the new scene at once.
	Cut Kind = "cut"
	// Fade blends the old scene into the new one.
	Fade Kind = "fade"
	// Slide pushes the old scene out to the left as the new one comes in
	// from the right.
	Slide Kind = "slide"
)

// Kinds lists every transition, for messages and menus.
var Kinds = []Kind{Cut, Fade, Slide}

// DefaultDuration is how long a fade or slide takes when none is given.
const DefaultDuration = 300 * time.Millisecond

// MaxDuration bounds a transition: longer is a mistake, not a style.
const MaxDuration = 10 * time.Second

// T is one transition: its kind and how long it takes.
type T struct {
	Kind     Kind
	Duration time.Duration
}

// Parse checks a transition by name (empty means a fade) and duration (0
// means DefaultDuration; a cut ignores it).
func Parse(kind string, d time.Duration) (T, error) {
	k := Kind(strings.ToLower(strings.TrimSpace(kind)))
	if k == "" {
		k = Fade
	}
	switch k {
	case Cut:
		return T{Kind: Cut}, nil
	case Fade, Slide:
	default:
		return T{}, fmt.Errorf("transition %q is not one of cut, fade, slide", kind)
	}
	if d < 0 || d > MaxDuration {
		return T{}, fmt.Errorf("transition duration %v is outside 0..%v", d, MaxDuration)
	}
	if d == 0 {
		d = DefaultDuration
	}
	return T{Kind: k, Duration: d}, nil
}

// Frames is how many frame slots the transition spans at fps; 1 or less
// means it shows complete on the next frame, like a cut.
func (t T) Frames(fps float64) int64 {
	if t.Kind == Cut {
		return 1
	}
	return max(1, int64(math.Round(t.Duration.Seconds()*fps)))
}
