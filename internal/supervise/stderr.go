package supervise

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/onair-studio/onair/internal/limits"
)

// TailLines keeps the last lines a process wrote to stderr, so a crash
// report can say what it said last, and forwards each line to out. A line
// longer than limits.MaxLineBytes is cut there and marked (CutMark); the rest
// of it is dropped, so a process writing without newlines costs its reader
// no more than one line.
type TailLines struct {
	mu      sync.Mutex
	keep    int
	prefix  string
	out     io.Writer
	partial []byte
	// cut is true from a line's cut to its newline: until then its bytes
	// are dropped.
	cut   bool
	lines []string
	// fatal is the first Go panic or fatal error line: the stack trace
	// after it may push it out of lines.
	fatal string
}

// CutMark ends a line that was cut at limits.MaxLineBytes.
var CutMark = fmt.Sprintf(" [line cut at %d bytes]", limits.MaxLineBytes)

// NewTailLines keeps keep lines; out (if not nil) gets each line with
// prefix.
func NewTailLines(keep int, prefix string, out io.Writer) *TailLines {
	return &TailLines{keep: keep, prefix: prefix, out: out}
}

func (t *TailLines) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		text, rest, ended := bytes.Cut(p, []byte{'\n'})
		p = rest
		if !t.cut {
			if room := limits.MaxLineBytes - len(t.partial); len(text) > room {
				for room > 0 && !utf8.RuneStart(text[room]) { // whole characters only
					room--
				}
				t.partial = append(t.partial, text[:room]...)
				t.endLine(CutMark)
				t.cut = true
			} else {
				t.partial = append(t.partial, text...)
			}
		}
		if ended {
			if !t.cut {
				t.endLine("")
			}
			t.cut = false
		}
	}
	return n, nil
}

// endLine keeps and forwards the line in partial, with mark after it.
func (t *TailLines) endLine(mark string) {
	line := strings.TrimRight(string(t.partial), "\r") + mark
	t.partial = t.partial[:0]
	if t.out != nil {
		_, _ = io.WriteString(t.out, t.prefix+line+"\n")
	}
	if t.fatal == "" && (strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")) {
		t.fatal = line
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > t.keep {
		t.lines = t.lines[len(t.lines)-t.keep:]
	}
}

// Last returns a copy of the kept lines.
func (t *TailLines) Last() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...)
}

// LastWords picks the line that best says why a process died: a Go panic or
// fatal error message if there is one, else the last non-empty line.
func (t *TailLines) LastWords() string {
	t.mu.Lock()
	fatal := t.fatal
	t.mu.Unlock()
	if fatal != "" {
		return fatal
	}
	lines := t.Last()
	for i := len(lines) - 1; i >= 0; i-- {
		if s := strings.TrimSpace(lines[i]); s != "" {
			return s
		}
	}
	return ""
}

// SetPrefix changes the prefix of the lines forwarded from now on: a
// promoted spare's lines are the running child's.
func (t *TailLines) SetPrefix(prefix string) {
	t.mu.Lock()
	t.prefix = prefix
	t.mu.Unlock()
}
