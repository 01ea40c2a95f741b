package pluginhost

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/onair-studio/onair/internal/config"
)

// ManifestName is the file in the plugins directory that lists the sha256 of
// every plugin binary the pluginhost may run, in the format sha256sum writes
// and checks ("<64 hex digits>  <file name>" per line, or " *" before the name
// for binary mode); blank lines and lines starting with # are ignored. A
// binary not listed, or whose contents no longer match, is not run.
const ManifestName = "plugins.sha256"

// Manifest maps a plugin file name to its expected sha256.
type Manifest map[string][]byte

// errNoManifest says the plugins directory has no manifest.
var errNoManifest = errors.New("no manifest")

// ReadManifest reads dir's manifest.
func ReadManifest(dir string) (Manifest, error) {
	path := filepath.Join(dir, ManifestName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w %s", errNoManifest, path)
	}
	if err != nil {
		return nil, err
	}
	return ParseManifest(path, data)
}

// ParseManifest parses a manifest's contents; name is used in errors.
func ParseManifest(name string, data []byte) (Manifest, error) {
	m := Manifest{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(why string) error {
			return fmt.Errorf("%s:%d: %s (want \"<sha256 hex>  <file name>\")", name, n, why)
		}
		if len(line) < 66 || (line[64:66] != "  " && line[64:66] != " *") {
			return nil, bad("malformed line")
		}
		sum, err := hex.DecodeString(line[:64])
		if err != nil {
			return nil, bad("checksum is not 64 hex digits")
		}
		file := line[66:]
		if err := checkFileName(file); err != nil {
			return nil, bad(err.Error())
		}
		if _, dup := m[file]; dup {
			return nil, bad(fmt.Sprintf("%s listed twice", file))
		}
		m[file] = sum
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// checkFileName accepts a plain file name in the plugins directory.
func checkFileName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case strings.ContainsAny(name, "/\\\n\x00"):
		return fmt.Errorf("name %q is not a plain file name", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("name %q starts with a dot", name)
	case name == ManifestName:
		return fmt.Errorf("name %q is the manifest's", name)
	}
	return nil
}

// binaryPath is where a plugin's binary is: a file right in the plugins
// directory, named by the rule for every name (config.CheckName). A path out
// of it would run a file checked against another directory's manifest.
func binaryPath(dir, binary string) (string, error) {
	if err := config.CheckName(binary); err != nil {
		return "", fmt.Errorf("binary %v; a plugin binary is a file name in the plugins directory %s", err, dir)
	}
	return filepath.Join(dir, binary), nil
}

// HashFile returns the sha256 of a file's contents.
func HashFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// Executables lists the plugin candidates in dir: regular, executable files
// whose names are acceptable plugin names, sorted.
func Executables(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if checkFileName(e.Name()) != nil {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// WriteManifest hashes every executable in dir (see Executables) into dir's
// manifest, replacing it atomically, and returns the names it listed.
func WriteManifest(dir string) ([]string, error) {
	names, err := Executables(dir)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("# sha256 of the OnAir plugins this directory may run (sha256sum format).\n")
	b.WriteString("# Rewrite with: pluginhost -write-manifest DIR   (check: cd DIR && sha256sum -c " + ManifestName + ")\n")
	for _, n := range names {
		sum, err := HashFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%x  %s\n", sum, n)
	}
	tmp, err := os.CreateTemp(dir, "."+ManifestName+".*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	return names, os.Rename(tmp.Name(), filepath.Join(dir, ManifestName))
}
