package supervise

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// TailLines keeps the last lines a process wrote to stderr, so a crash
// report can say what it said last, and forwards each line to out.
type TailLines struct {
	mu      sync.Mutex
	keep    int
	prefix  string
	out     io.Writer
	partial []byte
	lines   []string
	// fatal is the first Go panic or fatal error line: the stack trace
	// after it may push it out of lines.
	fatal string
}

// NewTailLines keeps keep lines; out (if not nil) gets each line with
// prefix.
func NewTailLines(keep int, prefix string, out io.Writer) *TailLines {
	return &TailLines{keep: keep, prefix: prefix, out: out}
}

func (t *TailLines) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(t.partial[:i]), "\r")
		t.partial = t.partial[i+1:]
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
	return len(p), nil
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
