// Command studio is OnAir's window: a Control API client only, kept out of
// the master so that the process holding the broadcast links no GUI or GL
// library. `master` on a desktop and `master attach` run it; it can also be
// run directly:
//
//	studio [MASTER FLAGS]   the window on this machine's engine, starting
//	                        `master MASTER FLAGS -headless` if none answers
//	studio attach [-token TOKEN] [-fingerprint SHA256] HOST:PORT
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/display"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "attach" {
		err = attachGUI(os.Args[2:])
	} else {
		err = localGUI(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "studio:", err)
		os.Exit(exitCode(err))
	}
}

// usageError exits with status 2, like the flag package.
type usageError struct{ error }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

// localGUI is the window on this machine's engine, started detached if none
// runs, through the same Control API as a remote attach.
func localGUI(args []string) error {
	if err := display.Reachable(); err != nil {
		return fmt.Errorf("%w: no window can open here (run 'master -headless' for a studio without one)", err)
	}
	dir, err := config.Dir()
	if err != nil {
		return err
	}
	pid, started, err := localEngine(dir, args)
	if err != nil {
		return err
	}
	if started {
		fmt.Fprintf(os.Stderr, "Started the OnAir engine (pid %d; log %s). It keeps streaming if this window closes.\n",
			pid, engineLog(dir))
	} else {
		fmt.Fprintf(os.Stderr, "Attached to the running OnAir engine (pid %d); flags given now do not change it.\n", pid)
	}
	return runWindow(window{resolve: localTarget(dir), ownsEngine: true})
}
