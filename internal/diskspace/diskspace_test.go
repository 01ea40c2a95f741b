package diskspace

import (
	"os"
	"testing"
)

// The room reported for a real directory is positive and shrinks by about
// what a file written there takes.
func TestFreeShrinksWithAWrite(t *testing.T) {
	dir := t.TempDir()
	before, err := Free(dir)
	if err != nil || before <= 0 {
		t.Fatalf("Free(%s) = %d, %v", dir, before, err)
	}
	if _, err := Free(dir + "/missing"); err == nil {
		t.Error("a missing directory measured without an error")
	}
	f, err := os.Create(dir + "/big")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const size = 64 << 20
	if _, err := f.Write(make([]byte, size)); err != nil {
		t.Skipf("cannot write %d bytes here: %v", size, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	after, err := Free(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Other writers share the file system, so only the direction and a
	// loose size are checked.
	if after > before-size/2 {
		t.Errorf("free space went from %d to %d after writing %d bytes", before, after, size)
	}
}
