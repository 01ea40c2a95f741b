// Package state holds the master's desired state: the one source of truth
// that every child is configured from, again after every restart.
package state

import (
	"reflect"
	"sync"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/transition"
)

// Desired is what the user asked for.
type Desired struct {
	// Revision grows with every change, so a child's applied revision tells
	// whether it is up to date.
	Revision   uint64
	Live       bool
	Encoder    config.Encoder
	PluginsDir string
	// ExcludeBackends are hardware encoders whose drivers crashed the encoder
	// (repeatedly, or once while opening).
	ExcludeBackends []string
	// Plugins are the plugin instances the pluginhost runs.
	Plugins []config.Plugin
	// Filters are the filter plugins on layers or the program, in order;
	// FilterDir is this run's private directory where they meet the
	// encoder.
	Filters   []config.Filter
	FilterDir string
	// Renditions are the extra encodes some output uses.
	Renditions []config.Rendition
	// Audio is the program's sound: sources, volumes, bitrate.
	Audio config.Audio
	// Scenes are the show's named scenes and the one on air.
	Scenes config.Scenes
	// SwitchedWith is how the scene on air was put there, for the encoder
	// to show that switch.
	SwitchedWith transition.T
}

// Store guards the desired state.
type Store struct {
	mu sync.Mutex
	d  Desired
}

// NewStore starts at revision 1 with d.
func NewStore(d Desired) *Store {
	d.Revision = 1
	return &Store{d: d}
}

// Get returns the current desired state.
func (s *Store) Get() Desired {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d
}

// Update changes the desired state and bumps its revision; it reports whether
// anything changed (an unchanged state keeps its revision). change must not
// modify slices in place: they are shared with earlier copies.
func (s *Store) Update(change func(*Desired)) (Desired, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.d
	change(&next)
	next.Revision = s.d.Revision
	if reflect.DeepEqual(next, s.d) {
		return s.d, false
	}
	next.Revision++
	s.d = next
	return s.d, true
}
