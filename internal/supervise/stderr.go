package supervise

import (
	"bytes"
	"io"
	"sync"
)

// tailLines keeps the last lines a child wrote to stderr, so a crash report
// can say what the child said last, and forwards each line to out.
type tailLines struct {
	mu      sync.Mutex
	keep    int
	prefix  string
	out     io.Writer
	partial []byte
	lines   []string
}

func newTailLines(keep int, prefix string, out io.Writer) *tailLines {
	return &tailLines{keep: keep, prefix: prefix, out: out}
}

func (t *tailLines) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		line := string(t.partial[:i])
		t.partial = t.partial[i+1:]
		if t.out != nil {
			_, _ = io.WriteString(t.out, t.prefix+line+"\n")
		}
		t.lines = append(t.lines, line)
		if len(t.lines) > t.keep {
			t.lines = t.lines[len(t.lines)-t.keep:]
		}
	}
	return len(p), nil
}

// Last returns a copy of the kept lines.
func (t *tailLines) Last() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...)
}
