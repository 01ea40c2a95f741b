// Package trust remembers the masters a GUI attached to: the TLS
// certificate fingerprint seen on first use (trust on first use, as ssh does
// with host keys) and, if the user asked for it, the token. A master that
// later presents another certificate is refused with a message saying so.
package trust

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/onair-studio/onair/internal/privfile"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// File is the store's name in the config dir.
const File = "known-masters.json"

// Master is what is remembered about one address.
type Master struct {
	Fingerprint string `json:"fingerprint,omitempty"`
	Token       string `json:"token,omitempty"`
}

// Store is the file of known masters, readable by the user only (it may hold
// tokens).
type Store struct {
	Path string
	mu   sync.Mutex
}

// NewStore returns the store in the config dir.
func NewStore(dir string) *Store { return &Store{Path: filepath.Join(dir, File)} }

// Lookup returns what is known about addr.
func (s *Store) Lookup(addr string) (Master, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.load()
	m, ok := all[addr]
	return m, ok, err
}

// Remember merges m into what is known about addr: empty fields keep their
// old value.
func (s *Store) Remember(addr string, m Master) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.load()
	if err != nil {
		return err
	}
	old := all[addr]
	if m.Fingerprint != "" {
		old.Fingerprint = Normalize(m.Fingerprint)
	}
	if m.Token != "" {
		old.Token = m.Token
	}
	all[addr] = old
	data, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return privfile.Write(s.Path, append(data, '\n'))
}

func (s *Store) load() (map[string]Master, error) {
	all := map[string]Master{}
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return all, nil
	}
	if err != nil {
		return all, err
	}
	if err := json.Unmarshal(data, &all); err != nil {
		return map[string]Master{}, fmt.Errorf("%s: %w", s.Path, err)
	}
	return all, nil
}

// Normalize accepts the forms people paste: colons, spaces, upper case, a
// "sha256:" prefix.
func Normalize(fp string) string {
	fp = strings.ToLower(strings.TrimSpace(fp))
	fp = strings.TrimPrefix(fp, "sha256:")
	return strings.NewReplacer(":", "", " ", "").Replace(fp)
}

// Pretty groups a fingerprint in pairs for reading aloud or comparing.
func Pretty(fp string) string {
	fp = Normalize(fp)
	var b strings.Builder
	for i := 0; i < len(fp); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(fp[i:min(i+2, len(fp))])
	}
	return strings.ToUpper(b.String())
}
