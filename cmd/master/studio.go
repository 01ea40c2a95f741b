package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// errNoStudio: the window's program is not installed next to the master.
var errNoStudio = errors.New("the studio window is not installed next to master (build it with 'make build')")

// openStudio becomes the studio window program (bin/studio) with args: the
// window lives in its own binary, so the master links no GUI or GL library
// and runs on a machine without them. The process keeps its pid, so
// whoever started `master` can still signal the window.
func openStudio(binDir string, args []string) error {
	path := filepath.Join(binDir, "studio")
	if _, err := os.Stat(path); err != nil {
		return errNoStudio
	}
	if err := syscall.Exec(path, append([]string{path}, args...), os.Environ()); err != nil {
		return fmt.Errorf("opening the studio window: %w", err)
	}
	return nil // not reached
}

// attachStudio is `master attach ARGS` (and -attach): the window against a
// master elsewhere, or what to use instead when the window is not installed.
func attachStudio(binDir string, args []string) error {
	err := openStudio(binDir, append([]string{"attach"}, args...))
	if errors.Is(err, errNoStudio) {
		err = fmt.Errorf("%w; without it: master ctl -addr HOST:PORT -token TOKEN status", err)
	}
	return err
}

// exeDir is the directory of the master binary.
func exeDir() string {
	exe, err := os.Executable()
	if err != nil {
		return "."
	}
	return filepath.Dir(exe)
}
