package master

import (
	"errors"
	"fmt"
	"github.com/onair-studio/onair/internal/privfile"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/output"
)

// keyStore keeps stream keys apart from URLs and from the config file: one
// file per destination name, readable by the user only.
type keyStore struct{ dir string }

func (k keyStore) path(name string) string { return filepath.Join(k.dir, name) }

func (k keyStore) get(name string) (string, error) {
	b, err := os.ReadFile(k.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return strings.TrimSpace(string(b)), err
}

func (k keyStore) set(name, key string) error {
	if err := config.CheckName(name); err != nil {
		return fmt.Errorf("destination name: %w", err)
	}
	if strings.TrimSpace(key) == "" {
		return errors.New("empty stream key")
	}
	return privfile.Write(k.path(name), []byte(strings.TrimSpace(key)+"\n"))
}

// resolve turns a configured destination into the URL to publish to, with
// its key from the config or the key store.
func (k keyStore) resolve(d config.Destination) (string, error) {
	key := d.Key
	if key == "" && d.Name != "" {
		var err error
		if key, err = k.get(d.Name); err != nil {
			return "", err
		}
	}
	u, err := output.DestinationURL(d.Service, d.URL, key)
	if err != nil && d.Name != "" && key == "" {
		err = fmt.Errorf("%w: set it with 'master ctl key set %s'", err, d.Name)
	}
	return u, err
}

// apart returns d with its stream key in the store instead of in d: the key
// field, or the last element of a URL written with its key (the key, unless
// one is stored for d: then the URL is the server). d publishes to the same
// URL as before. Keys are filed by name, so a destination without one is
// named after its server's host; taken says which names are in use.
func (k keyStore) apart(d config.Destination, taken func(string) bool) (config.Destination, error) {
	url, err := k.resolve(d)
	if err != nil {
		return d, nil // it does not work as written: nothing to move
	}
	out, key := d, d.Key
	out.Key = ""
	if key == "" && (d.Service == "" || d.Service == "custom") {
		stored := ""
		if d.Name != "" {
			if stored, err = k.get(d.Name); err != nil {
				return d, err
			}
		}
		if server, k := output.SplitKey(d.URL); stored == "" && k != "" {
			out.URL, key = server, k
		}
	}
	if key == "" {
		return d, nil
	}
	if same, err := output.DestinationURL(out.Service, out.URL, key); err != nil || !output.SameURL(same, url) || strings.TrimSpace(key) != key {
		return d, nil // it would publish elsewhere: left as written
	}
	if out.Name == "" {
		out.Name = k.freeName(hostOf(d.URL), taken)
	}
	if err := k.set(out.Name, key); err != nil {
		return d, err
	}
	return out, nil
}

// freeName is base, or base-2, base-3…: a valid name that no destination
// uses and no stored key is filed under.
func (k keyStore) freeName(base string, taken func(string) bool) string {
	if config.CheckName(base) != nil {
		base = "destination"
	}
	for n := 1; ; n++ {
		name := base
		if n > 1 {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		if _, err := os.Stat(k.path(name)); !taken(name) && errors.Is(err, os.ErrNotExist) {
			return name
		}
	}
}

// hostOf is the host of a URL, without user or port.
func hostOf(raw string) string {
	_, rest, _ := strings.Cut(raw, "://")
	host, _, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = host[at+1:]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return host
}
