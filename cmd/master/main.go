// Command master is OnAir's control process. It starts and supervises the
// encoder and pluginhost children and serves the Control API. With a display
// and without -headless it becomes the studio window (bin/studio) on a
// detached engine; `master attach ADDR` opens the window against a running
// master, `master ctl` is the command-line client, `master plugin new`
// writes a new plugin's module, and `master serve-rtmp` runs only the
// embedded RTMP live server.
package main

import (
	"fmt"
	"os"

	"github.com/onair-studio/onair/internal/gosched"
)

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "ctl":
		err = ctl(os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "attach":
		err = attachStudio(exeDir(), os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "plugin":
		err = pluginCmd(os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "completion":
		err = completion(os.Args[2:], os.Stdout)
	case len(os.Args) > 1 && os.Args[1] == "serve-rtmp":
		gosched.Apply()
		gosched.OneProcessor()
		err = serveRTMP(os.Args[2:])
	default:
		gosched.Apply() // the children inherit it
		gosched.OneProcessor()
		err = run(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "master:", err)
		os.Exit(exitCode(err))
	}
}
