// Package validate checks what a user types into the GUI's dialogs, with the
// same rules the master applies, so that nothing invalid is ever sent and
// every message can be shown next to the field that is wrong.
package validate

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/output"
	"github.com/onair-studio/onair/internal/source"
)

// IntIn returns a check that s is a whole number from lo to hi.
func IntIn(lo, hi int, unit string) func(string) error {
	return func(s string) error {
		_, err := Int(s, lo, hi, unit)
		return err
	}
}

// Int parses s as a whole number from lo to hi.
func Int(s string, lo, hi int, unit string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("enter a whole number")
	}
	if n < lo || n > hi {
		if unit != "" {
			unit = " " + unit
		}
		return n, fmt.Errorf("must be %d to %d%s", lo, hi, unit)
	}
	return n, nil
}

// Even checks a frame dimension: in range and even, as 4:2:0 video needs.
func Even(lo, hi int) func(string) error {
	return func(s string) error {
		n, err := Int(s, lo, hi, "px")
		if err != nil {
			return err
		}
		if n%2 != 0 {
			return errors.New("must be even")
		}
		return nil
	}
}

// Bitrate checks a video bitrate in kbit/s.
func Bitrate(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return errors.New("enter a whole number of kbit/s")
	}
	return config.CheckBitrate(n)
}

// Source checks a source string (pattern, screen:N:X,Y,WxH, window:NAME, ...).
func Source(s string) error {
	if s == "auto" {
		return nil
	}
	_, err := source.Parse(s)
	return err
}

// OneOf checks that s is one of the allowed values.
func OneOf(allowed []string) func(string) error {
	return func(s string) error {
		if !slices.Contains(allowed, s) {
			return fmt.Errorf("choose one of %s", strings.Join(allowed, ", "))
		}
		return nil
	}
}

// Name checks a destination or plugin name by the master's rule
// (config.CheckName), and that it is not one of taken. Empty is allowed when
// optional.
func Name(s string, optional bool, taken []string) error {
	if s == "" && optional {
		return nil
	}
	if err := config.CheckName(s); err != nil {
		return err
	}
	if slices.Contains(taken, s) {
		return fmt.Errorf("%q is taken", s)
	}
	return nil
}

// ServerURL checks a custom destination's URL: rtmp:// or rtmps://, a host,
// and an application; srt:// with a host and a port; or whip+https:// with
// a host (their options are checked when the master takes them). withKey says whether a key is entered apart; without
// one, the URL itself must end in the key (rtmp://host/app/KEY).
func ServerURL(raw string, withKey bool) error {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return errors.New("enter the server URL, e.g. rtmp://host/live")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	srt, whip := false, false
	switch strings.ToLower(u.Scheme) {
	case "rtmp", "rtmps":
	case "srt":
		srt = true
	case "whip+https", "whip+http":
		whip = true
	case "":
		return errors.New("start with rtmp://, rtmps://, srt:// or whip+https://")
	default:
		return fmt.Errorf("%s:// is not supported: use rtmp://, rtmps://, srt:// or whip+https://", u.Scheme)
	}
	if u.Hostname() == "" {
		return errors.New("no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q is not 1 to 65535", p)
		}
	}
	if srt {
		if u.Port() == "" {
			return errors.New("an SRT server needs a port: srt://host:port")
		}
		return nil // the streamid and passphrase go in the key field
	}
	if whip {
		return nil // token=BEARER goes in the key field
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if parts[0] == "" {
		return errors.New("needs an application: rtmp://host/app")
	}
	if !withKey && len(parts) < 2 {
		return errors.New("enter the stream key, or end the URL with it: rtmp://host/app/KEY")
	}
	return nil
}

// Key checks a stream key: required for a platform preset, and never holding
// spaces (a pasted key with a line break would fail at the server).
func Key(key, service string, required bool) error {
	if key == "" {
		if required && service != "" && service != "custom" {
			return fmt.Errorf("%s needs a stream key", service)
		}
		return nil
	}
	if strings.ContainsAny(key, " \t\r\n") {
		return errors.New("the key has spaces or line breaks")
	}
	if len(key) > 4096 {
		return errors.New("the key is too long")
	}
	return nil
}

// Service checks a destination service preset.
func Service(s string) error {
	if s == "custom" {
		return nil
	}
	if _, ok := output.Services[s]; !ok {
		return fmt.Errorf("unknown service %q", s)
	}
	return nil
}
