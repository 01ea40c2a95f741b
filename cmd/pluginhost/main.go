// Command pluginhost is OnAir's plugin loader child: the master starts it and
// it runs each plugin as its own process (see PLUGINS.md).
//
// By hand it maintains a plugins directory's manifest:
//
//	pluginhost -write-manifest DIR   hash every executable in DIR into DIR/plugins.sha256
//	pluginhost -check-manifest DIR   say which executables in DIR the manifest lets run
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/onair-studio/onair/internal/pluginhost"
	"github.com/onair-studio/onair/stub"
)

func main() {
	write := flag.String("write-manifest", "", "hash every executable in `DIR` into DIR/"+pluginhost.ManifestName+" and exit")
	check := flag.String("check-manifest", "", "check the executables in `DIR` against DIR/"+pluginhost.ManifestName+" and exit")
	flag.Parse()
	switch {
	case *write != "":
		names, err := pluginhost.WriteManifest(*write)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pluginhost:", err)
			os.Exit(1)
		}
		fmt.Printf("%s: %d plugin(s)\n", filepath.Join(*write, pluginhost.ManifestName), len(names))
		for _, n := range names {
			fmt.Println("  " + n)
		}
		return
	case *check != "":
		if !checkManifest(*check) {
			os.Exit(1)
		}
		return
	}
	o := pluginhost.DefaultOptions()
	o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	o.Stderr = os.Stderr
	stub.Serve(stub.PluginHostName, &stub.PluginHostPlugin{Impl: pluginhost.NewWithOptions(o)})
}

// checkManifest prints, for each executable in dir, whether the manifest lets
// it run, and reports whether all of them may.
func checkManifest(dir string) bool {
	m, err := pluginhost.ReadManifest(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pluginhost:", err)
		return false
	}
	names, err := pluginhost.Executables(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pluginhost:", err)
		return false
	}
	ok := true
	for _, n := range names {
		want, listed := m[n]
		sum, err := pluginhost.HashFile(filepath.Join(dir, n))
		switch {
		case err != nil:
			fmt.Printf("%s: %v\n", n, err)
			ok = false
		case !listed:
			fmt.Printf("%s: NOT LISTED\n", n)
			ok = false
		case !bytes.Equal(sum, want):
			fmt.Printf("%s: CHECKSUM MISMATCH\n", n)
			ok = false
		default:
			fmt.Printf("%s: OK\n", n)
		}
	}
	return ok
}
