package jobs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/onair-studio/onair/internal/diskspace"
)

// PartSuffix marks an output still being written. A job writes to
// TempPath(out) and renames it to out only when complete, so a file under
// its final name is always whole.
const PartSuffix = ".part"

// TempPath is where the output bound for final is written until complete:
// a hidden name beside it, so the rename stays on one file system.
func TempPath(final string) string {
	return filepath.Join(filepath.Dir(final), "."+filepath.Base(final)+PartSuffix)
}

// IsTemp reports whether name is an output still being written.
func IsTemp(name string) bool {
	b := filepath.Base(name)
	return strings.HasPrefix(b, ".") && strings.HasSuffix(b, PartSuffix)
}

// RemoveTemps deletes the outputs left half-written in dir by work that
// died, for no job will finish them now.
func RemoveTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if IsTemp(e.Name()) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// ErrDiskFull says the disk had too little room for an output.
var ErrDiskFull = errors.New("not enough free disk space")

// CheckSpace refuses an output of about need bytes in dir's file system
// when less is free, saying how much each is.
func CheckSpace(dir string, need int64) error {
	free, err := diskspace.Free(dir)
	if err != nil {
		return fmt.Errorf("checking free space in %s: %w", dir, err)
	}
	if free < need {
		return fmt.Errorf("%w in %s: %d MiB free, the output needs about %d MiB", ErrDiskFull, dir, free>>20, (need+1<<20-1)>>20)
	}
	return nil
}

// WriteAtomic creates final through write: the data goes to TempPath(final),
// is synced and renamed. On any error the temporary file is removed and
// final is untouched. A full disk reads as ErrDiskFull.
func WriteAtomic(final string, write func(f *os.File) error) error {
	tmp := TempPath(final)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", final, err)
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			err = fmt.Errorf("%w: %w", ErrDiskFull, err)
		}
		return fmt.Errorf("writing %s: %w", final, err)
	}
	return nil
}

// RenditionPath is where rendition i of a job whose output is out goes:
// the first at out itself, the others beside it named by their size
// (show.mp4, show-640x360.mp4, …).
func RenditionPath(out string, i int, r Rendition) string {
	if i == 0 {
		return out
	}
	ext := filepath.Ext(out)
	return fmt.Sprintf("%s-%dx%d%s", strings.TrimSuffix(out, ext), r.Width, r.Height, ext)
}

// Outputs are every file job j writes: its output, and for a transcode
// each further rendition beside it.
func Outputs(j Job) []string {
	if j.Kind != Transcode || len(j.Params.Renditions) < 2 {
		return []string{j.Output}
	}
	out := make([]string, len(j.Params.Renditions))
	for i, r := range j.Params.Renditions {
		out[i] = RenditionPath(j.Output, i, r)
	}
	return out
}
