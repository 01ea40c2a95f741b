package jobs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Inside resolves name (relative to dir, or absolute) to a path inside dir,
// following symlinks: a name that leads out of dir, by ".." or by a link,
// is refused. When mustExist is false the file itself may be missing, but
// its directory must not lead out.
func Inside(dir, name string, mustExist bool) (string, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("recordings directory %s: %w", dir, err)
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	resolved, err := filepath.EvalSymlinks(p)
	if err != nil {
		if mustExist || !os.IsNotExist(err) {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		parent, perr := filepath.EvalSymlinks(filepath.Dir(p))
		if perr != nil {
			return "", fmt.Errorf("%s: %w", name, perr)
		}
		resolved = filepath.Join(parent, filepath.Base(p))
	}
	rel, err := filepath.Rel(root, resolved)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%s is outside the recordings directory %s", name, dir)
	}
	if mustExist {
		st, err := os.Stat(resolved)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		if !st.Mode().IsRegular() {
			return "", fmt.Errorf("%s is not a file", name)
		}
	}
	return resolved, nil
}
