package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/onair-studio/onair/internal/plugintemplate"
)

const pluginUsage = `usage: master plugin new NAME [-dir DIR] [-onair DIR | -proxy]
  writes a ready-to-build overlay plugin module into DIR (default ./NAME):
  main.go, a test, go.mod, a Makefile (build, test, install) and a README`

// pluginCmd is `master plugin …`: tools for plugin authors.
func pluginCmd(args []string) error {
	if len(args) == 0 || args[0] != "new" {
		return usageError{errors.New(pluginUsage)}
	}
	fs := flag.NewFlagSet("plugin new", flag.ContinueOnError)
	dir := fs.String("dir", "", "where to write the module (default ./NAME)")
	onair := fs.String("onair", "", "the OnAir checkout the SDK comes from (default: the one this master was built from)")
	proxy := fs.Bool("proxy", false, "take the SDK from a module proxy instead of a checkout (no replace directive)")
	rest := args[1:]
	var name string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return usageError{err}
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if name == "" {
		return usageError{errors.New(pluginUsage)}
	}
	if *dir == "" {
		*dir = name
	}
	o := plugintemplate.Options{Name: name, Dir: *dir, OnAir: *onair}
	if !*proxy && o.OnAir == "" {
		root, err := plugintemplate.Checkout()
		if err != nil {
			return fmt.Errorf("%v: pass -onair DIR (an OnAir checkout), or -proxy to take the SDK from a module proxy", err)
		}
		o.OnAir = root
	}
	if o.OnAir != "" {
		abs, err := filepath.Abs(o.OnAir)
		if err != nil {
			return err
		}
		o.OnAir = abs
	}
	wrote, err := plugintemplate.Write(o)
	if err != nil {
		return err
	}
	for _, f := range wrote {
		fmt.Println("wrote", f)
	}
	// go.sum, so that the module builds and tests at once.
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir, tidy.Stdout, tidy.Stderr = *dir, os.Stderr, os.Stderr
	if err := tidy.Run(); err != nil {
		return fmt.Errorf("go mod tidy in %s: %v (run it there once the SDK can be downloaded)", *dir, err)
	}
	fmt.Printf("\nnext: cd %s && make test && make install && master ctl plugin add %s\n", *dir, name)
	return nil
}
