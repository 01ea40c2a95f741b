package plugintemplate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bad name or a directory in use is refused with what to do, and
// nothing is written.
func TestWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(Options{Name: "Hello World", Dir: filepath.Join(dir, "a")}); err == nil ||
		!strings.Contains(err.Error(), `plugin name "Hello World": want a lower-case letter`) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Error("a refused name left a directory behind")
	}
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(Options{Name: "hello", Dir: dir}); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("non-empty dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "main.go")); err == nil {
		t.Error("files written into a directory in use")
	}
}

// The module names the plugin, and the replace points at the checkout
// (only when one is given).
func TestWriteModule(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hi")
	wrote, err := Write(Options{Name: "hi", Dir: dir, OnAir: "/src/onair"})
	if err != nil || len(wrote) != 5 {
		t.Fatalf("wrote %v, %v", wrote, err)
	}
	mod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.Contains(string(mod), "module hi\n") || !strings.Contains(string(mod), "replace "+Module+" => /src/onair") {
		t.Errorf("go.mod:\n%s", mod)
	}
	main, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	if !strings.Contains(string(main), `Name: "hi"`) || !strings.Contains(string(main), `Default: "Hi"`) {
		t.Errorf("main.go does not name the plugin:\n%s", main)
	}
	dir = filepath.Join(t.TempDir(), "px")
	if _, err := Write(Options{Name: "px", Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if mod, _ := os.ReadFile(filepath.Join(dir, "go.mod")); strings.Contains(string(mod), "replace") {
		t.Errorf("a module for a proxy has a replace:\n%s", mod)
	}
}
