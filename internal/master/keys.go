package master

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/control"
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
	return control.WritePrivate(k.path(name), []byte(strings.TrimSpace(key)+"\n"))
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
