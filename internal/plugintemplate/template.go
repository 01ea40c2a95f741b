// Package plugintemplate writes a new plugin's module: an overlay plugin
// with typed parameters, OnEvent and a test, a go.mod wired to the SDK, a
// Makefile that builds, tests and installs it, and a README. It is what
// `master plugin new` runs.
package plugintemplate

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"text/template"
)

//go:embed files/*.tmpl
var files embed.FS

// Module is OnAir's module path, which the SDK belongs to.
const Module = "github.com/onair-studio/onair"

// Options say what to write.
type Options struct {
	// Name is the plugin's name: its binary's, its module's and its
	// configuration entry's.
	Name string
	// Dir is where the module goes; it must not exist or be empty.
	Dir string
	// OnAir is the OnAir checkout the SDK comes from (a replace directive);
	// empty: from a module proxy.
	OnAir string
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// Write writes the module and returns the files it wrote.
func Write(o Options) ([]string, error) {
	if !nameRE.MatchString(o.Name) {
		return nil, fmt.Errorf("plugin name %q: want a lower-case letter, then letters, digits, - or _ (at most 64)", o.Name)
	}
	if entries, err := os.ReadDir(o.Dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty: give a new directory with -dir", o.Dir)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	data := map[string]string{
		"Name": o.Name, "OnAir": o.OnAir,
		"Title": strings.ToUpper(o.Name[:1]) + o.Name[1:],
	}
	all, err := template.ParseFS(files, "files/*.tmpl")
	if err != nil {
		return nil, err
	}
	ts := all.Templates()
	slices.SortFunc(ts, func(a, b *template.Template) int { return strings.Compare(a.Name(), b.Name()) })
	var wrote []string
	for _, t := range ts {
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return nil, err
		}
		out := filepath.Join(o.Dir, strings.TrimSuffix(t.Name(), ".tmpl"))
		if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
			return nil, err
		}
		wrote = append(wrote, out)
	}
	return wrote, nil
}

// Checkout is the OnAir source tree this program was built from, when it
// is still there: the SDK for a new plugin comes from it.
func Checkout() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", errors.New("this master was built without its source paths (-trimpath)")
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("the OnAir checkout this master was built from is gone: %v", err)
	}
	if !bytes.HasPrefix(mod, []byte("module "+Module+"\n")) {
		return "", fmt.Errorf("%s is not OnAir's module", root)
	}
	return root, nil
}
