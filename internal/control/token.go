// Package control secures the master's Control API: the token every call
// carries, the TLS certificate required off loopback and pinned by its
// fingerprint, and the client that attaches to a master.
package control

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/onair-studio/onair/internal/privfile"
)

// TokenFile is the token's file name in the config dir.
const TokenFile = "token"

// LoadOrCreateToken returns the token in dir, making a random one on first
// run. The file is readable by the user only.
func LoadOrCreateToken(dir string) (string, error) { return LoadOrCreateSecret(dir, TokenFile) }

// LoadOrCreateSecret returns the secret in dir/name, making a random one on
// first run, readable by the user only.
func LoadOrCreateSecret(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err == nil {
		if secret := strings.TrimSpace(string(data)); secret != "" {
			return secret, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(b)
	if err := privfile.Write(path, []byte(secret+"\n")); err != nil {
		return "", fmt.Errorf("saving %s: %w", path, err)
	}
	return secret, nil
}

// ReadToken returns the token a master on this machine made, for clients.
func ReadToken(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, TokenFile))
	if err != nil {
		return "", fmt.Errorf("no token given and none found on this machine (%w): give it with -token-file FILE or $ONAIR_TOKEN", err)
	}
	return strings.TrimSpace(string(data)), nil
}
