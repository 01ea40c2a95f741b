package pluginhost

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseManifest(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	m, err := ParseManifest("m", []byte("# comment\n\n"+sum+"  clock\n"+sum+" *watermark\r\n"))
	if err != nil || len(m) != 2 || m["clock"] == nil || m["watermark"] == nil {
		t.Fatalf("parse: %v %v", m, err)
	}
	for _, c := range []struct{ text, want string }{
		{sum + " clock\n", "m:1: malformed line"},
		{strings.Repeat("zz", 32) + "  clock\n", "m:1: checksum is not 64 hex digits"},
		{sum + "  ../clock\n", "not a plain file name"},
		{sum + "  .hidden\n", "starts with a dot"},
		{sum + "  clock\n" + sum + "  clock\n", "m:2: clock listed twice"},
		{sum + "  \n", "empty name"},
	} {
		if _, err := ParseManifest("m", []byte(c.text)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
	}
}

// The manifest is what sha256sum writes and checks; the pluginhost binary
// writes and checks it too.
func TestManifestTools(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "clock", "clock")
	install(t, dir, "eventlog", "eventlog")
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a plugin"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(binDir, "pluginhost"), "-write-manifest", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "2 plugin(s)") {
		t.Fatalf("-write-manifest: %v\n%s", err, out)
	}
	m, err := ReadManifest(dir)
	if err != nil || len(m) != 2 || m["notes.txt"] != nil {
		t.Fatalf("manifest %v, %v: want clock and eventlog only", m, err)
	}
	if sha, err := exec.LookPath("sha256sum"); err == nil {
		check := exec.Command(sha, "-c", ManifestName)
		check.Dir = dir
		if out, err := check.CombinedOutput(); err != nil {
			t.Fatalf("sha256sum -c: %v\n%s", err, out)
		}
	}
	if out, err := exec.Command(filepath.Join(binDir, "pluginhost"), "-check-manifest", dir).CombinedOutput(); err != nil {
		t.Fatalf("-check-manifest on a good directory: %v\n%s", err, out)
	}
	install(t, dir, "watermark", "clock") // replaced
	out, err = exec.Command(filepath.Join(binDir, "pluginhost"), "-check-manifest", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "clock: CHECKSUM MISMATCH") || !strings.Contains(string(out), "eventlog: OK") {
		t.Fatalf("-check-manifest after a change: %v\n%s", err, out)
	}
}
