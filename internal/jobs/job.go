// Package jobs is OnAir's durable job queue: media work (save a replay,
// remux, trim, transcode, a vertical cut) that takes longer than a call
// should, each job a row in an SQLite database in the config dir.
//
// SQLite through modernc.org/sqlite: a real embedded database with atomic,
// durable transactions (WAL), pure Go, so the master still needs no cgo.
// A job that was running when its process died is found at the next start
// (or when the worker is restarted) and queued again, up to MaxAttempts
// attempts, then failed with its reason: it is never lost and never left
// running.
package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind names what a job does.
type Kind string

const (
	Replay    Kind = "replay"    // save the replay buffer (done by the master)
	Remux     Kind = "remux"     // a recording to a faststart MP4
	Trim      Kind = "trim"      // a part of a recording
	Transcode Kind = "transcode" // one or more renditions
	Vertical  Kind = "vertical"  // a 9:16 centre crop
)

// Kinds lists every kind.
var Kinds = []Kind{Replay, Remux, Trim, Transcode, Vertical}

// State is where a job stands.
type State string

const (
	Queued    State = "queued"
	Running   State = "running"
	Done      State = "done"
	Failed    State = "failed"
	Cancelled State = "cancelled"
)

// Finished reports whether s is final.
func (s State) Finished() bool { return s == Done || s == Failed || s == Cancelled }

// MaxAttempts is how often a job is started before a crash fails it.
const MaxAttempts = 3

// Rendition is one output of a transcode.
type Rendition struct {
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	BitrateKbps int    `json:"bitrate_kbps"`
	Preset      string `json:"preset,omitempty"`
}

// Params are a job's parameters. Paths are relative to the recordings
// directory or absolute inside it.
type Params struct {
	Input  string `json:"input,omitempty"`
	Output string `json:"output,omitempty"`
	// Seconds is a replay's length.
	Seconds float64 `json:"seconds,omitempty"`
	// Start and End cut a trim (seconds from the start of the input).
	Start float64 `json:"start,omitempty"`
	End   float64 `json:"end,omitempty"`
	// Renditions of a transcode (or the size of a vertical cut, one entry).
	Renditions []Rendition `json:"renditions,omitempty"`
}

// Job is one row of the queue.
type Job struct {
	ID       int64
	Kind     Kind
	Params   Params
	State    State
	Progress int           // 0..100
	ETA      time.Duration // 0: unknown or finished
	Attempts int
	Error    string
	Output   string // where the result is (or goes)
	Created  time.Time
	Updated  time.Time
}

// limits of what a job may ask for.
const (
	maxSide    = 7680
	maxKbps    = 100_000
	maxSeconds = 24 * 3600
)

var presets = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"}

// ParseParams reads a job's parameters from JSON and checks everything
// that does not need the disk, naming the field at fault.
func ParseParams(kind Kind, data []byte) (Params, error) {
	var p Params
	if len(data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return Params{}, fmt.Errorf("%s job parameters: %w", kind, err)
		}
	}
	return p, p.Check(kind)
}

// Check tests p for kind without touching the disk.
func (p Params) Check(kind Kind) error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("%s job: %s: %s", kind, field, fmt.Sprintf(format, a...))
	}
	switch kind {
	case Replay:
		if p.Seconds < 0 || p.Seconds > maxSeconds {
			return bad("seconds", "%v is out of range (0 for the whole buffer)", p.Seconds)
		}
		return nil
	case Remux, Trim, Transcode, Vertical:
	default:
		return fmt.Errorf("unknown job kind %q (one of %s)", kind, kindList())
	}
	if p.Input == "" {
		return bad("input", "a recording to work on is needed")
	}
	if kind == Trim {
		if p.Start < 0 || p.End <= p.Start || p.End > maxSeconds {
			return bad("start, end", "%v..%v is not a span of the recording (0 <= start < end)", p.Start, p.End)
		}
	}
	switch kind {
	case Transcode:
		if len(p.Renditions) == 0 {
			return bad("renditions", "at least one size is needed")
		}
	case Vertical:
		if len(p.Renditions) > 1 {
			return bad("renditions", "a vertical cut has one size")
		}
	default:
		if len(p.Renditions) > 0 {
			return bad("renditions", "only transcode and vertical jobs take sizes")
		}
	}
	for i, r := range p.Renditions {
		field := fmt.Sprintf("renditions[%d]", i)
		if r.Width <= 0 || r.Height <= 0 || r.Width > maxSide || r.Height > maxSide || r.Width%2 != 0 || r.Height%2 != 0 {
			return bad(field, "size %dx%d: each side an even number from 2 to %d", r.Width, r.Height, maxSide)
		}
		if r.BitrateKbps < 0 || r.BitrateKbps > maxKbps {
			return bad(field, "bitrate %d kbps: 0 (automatic) to %d", r.BitrateKbps, maxKbps)
		}
		if r.Preset != "" && !slices.Contains(presets, r.Preset) {
			return bad(field, "preset %q: one of %s", r.Preset, strings.Join(presets, ", "))
		}
	}
	return nil
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// ErrNotFound says no job has that id.
var ErrNotFound = errors.New("no such job")

// JSON is p as the API and the database show it.
func (p Params) JSON() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// CheckSpan refuses a trim of p that ends past its input's end (length
// seconds, as the worker reads it).
func (p Params) CheckSpan(length float64) error {
	if p.End > length+0.05 {
		return fmt.Errorf("trim job: end: %.2f s is past the input's end (%.2f s)", p.End, length)
	}
	return nil
}
