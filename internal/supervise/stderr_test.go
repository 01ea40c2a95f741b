package supervise

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/onair-studio/onair/internal/limits"
	"github.com/onair-studio/onair/internal/testpeer"
)

// A child that writes 10 MiB to stderr without a newline costs its reader
// one cut, marked line, not 10 MiB; the lines after it come through whole.
func TestEndlessStderrLineIsCut(t *testing.T) {
	const spew = "head -c 10485760 /dev/zero | tr '\\0' x >&2; echo >&2; echo 'after: é' >&2"
	out := &testpeer.SyncBuffer{}
	tail := NewTailLines(20, "child | ", out)
	cmd := exec.Command("sh", "-c", spew)
	cmd.Stderr = tail
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("x", limits.MaxLineBytes) + CutMark
	if got := tail.Last(); len(got) != 2 || got[0] != want || got[1] != "after: é" {
		t.Fatalf("kept %d lines of %v bytes, want the first %d bytes cut and marked, then %q",
			len(got), lineLengths(got), limits.MaxLineBytes, "after: é")
	}
	if got := out.String(); got != "child | "+want+"\nchild | after: é\n" {
		t.Fatalf("forwarded %d bytes, want the same two lines", len(got))
	}
}

// A cut never splits a character.
func TestCutKeepsWholeCharacters(t *testing.T) {
	tail := NewTailLines(5, "", nil)
	_, _ = tail.Write([]byte(strings.Repeat("x", limits.MaxLineBytes-1) + "é and more\nnext\n"))
	if got := tail.Last(); len(got) != 2 || got[0] != strings.Repeat("x", limits.MaxLineBytes-1)+CutMark || got[1] != "next" {
		t.Fatalf("kept %v bytes", lineLengths(got))
	}
}

func lineLengths(lines []string) []int {
	n := make([]int, len(lines))
	for i, l := range lines {
		n[i] = len(l)
	}
	return n
}
