package pluginhost

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// FuzzParseManifest feeds arbitrary bytes to the plugin manifest parser.
// Run it with:
//
//	go test -run '^$' -fuzz '^FuzzParseManifest$' -fuzztime 20s ./internal/pluginhost
//
// It never panics; an error names the manifest (and the line, for a bad
// line); every accepted entry is a 32-byte sum written as 64 hex digits in
// the file and a plain file name inside the plugins directory (not empty,
// no directory part, no leading dot, not the manifest itself); there is one
// entry per non-comment line; and the manifest written back in the format
// sha256sum and WriteManifest use parses to the same entries.
func FuzzParseManifest(f *testing.F) {
	sum := strings.Repeat("ab", 32)
	sum2 := "eee64a922c00df045dec5e40278c358840bf0876ad6f915a07bc87374346a286"
	for _, seed := range []string{
		"",
		"# comment\n\n" + sum + "  clock\n" + sum + " *watermark\r\n",
		"# sha256 of the OnAir plugins this directory may run (sha256sum format).\n" + sum2 + "  clock\n" + sum + "  eventlog\n",
		sum + " clock\n",
		strings.Repeat("zz", 32) + "  clock\n",
		sum + "  ../clock\n",
		sum + "  .hidden\n",
		sum + "  clock\n" + sum + "  clock\n",
		sum + "  \n",
		sum + "  " + ManifestName + "\n",
		sum + "  a\\b\n",
		"\\" + sum + "  a\\nb\n",
		strings.ToUpper(sum) + "  CLOCK",
		sum + "  name with spaces \n",
		sum + "  \x00\n",
		"   \n\t\n#\n",
		sum[:63] + "   x\n",
		strings.Repeat("#", 70000) + "\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "dir/plugins.sha256"
		m, err := ParseManifest(name, data)
		if err != nil {
			if m != nil {
				t.Fatalf("error %v, and entries %v", err, m)
			}
			if !strings.HasPrefix(err.Error(), name+":") {
				t.Fatalf("error %q does not name the manifest", err)
			}
			return
		}
		entries := 0
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimRight(line, "\r")
			if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "#") {
				entries++
			}
		}
		if len(m) != entries {
			t.Fatalf("%d entries from %d entry lines", len(m), entries)
		}
		for file, s := range m {
			if len(s) != 32 {
				t.Fatalf("%q: a %d-byte sum", file, len(s))
			}
			if !bytes.Contains(bytes.ToLower(data), []byte(hex.EncodeToString(s))) {
				t.Fatalf("%q: sum %x is not written in the file", file, s)
			}
			if err := plain(file); err != nil {
				t.Fatalf("accepted %q: %v", file, err)
			}
		}
		// Written back as WriteManifest and sha256sum write it.
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		sort.Strings(names)
		var b strings.Builder
		b.WriteString("# written back\n")
		for _, n := range names {
			fmt.Fprintf(&b, "%x  %s\n", m[n], n)
		}
		again, err := ParseManifest(name, []byte(b.String()))
		if err != nil {
			t.Fatalf("the entries written back do not parse: %v\n%s", err, b.String())
		}
		if len(again) != len(m) {
			t.Fatalf("%d entries written back, %d read", len(m), len(again))
		}
		for n, s := range m {
			if !bytes.Equal(again[n], s) {
				t.Fatalf("%q: sum %x written back, %x read", n, s, again[n])
			}
		}
	})
}

// plain says why name is not a plain file name in the plugins directory.
func plain(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("not a file name")
	case filepath.Base(name) != name || strings.ContainsAny(name, "/\\\x00\n"):
		return fmt.Errorf("has a directory part or a separator")
	case filepath.Join("plugins", name) != "plugins/"+name:
		return fmt.Errorf("does not stay inside the directory")
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("hidden")
	case name == ManifestName:
		return fmt.Errorf("the manifest itself")
	case strings.HasSuffix(name, "\r"):
		return fmt.Errorf("ends in a carriage return")
	}
	return nil
}
