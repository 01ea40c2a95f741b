// Package logfmt writes the master's log: lines people read (time, level,
// message, then the fields), coloured on a terminal, or JSON lines for log
// shippers.
package logfmt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Formats are the values -log-format takes.
var Formats = []string{"human", "json"}

// New is a handler writing format to w; colour applies to human lines.
func New(w io.Writer, format string, colour bool) (slog.Handler, error) {
	switch format {
	case "human", "":
		return &human{w: w, colour: colour, mu: &sync.Mutex{}}, nil
	case "json":
		return slog.NewJSONHandler(w, nil), nil
	}
	return nil, fmt.Errorf("log format %q is not one of %s", format, strings.Join(Formats, ", "))
}

// IsTerminal reports whether fd is a terminal (colour is for people only).
func IsTerminal(fd uintptr) bool {
	_, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
	return err == nil
}

// Fanout hands every record to each handler.
func Fanout(hs ...slog.Handler) slog.Handler { return fanout(hs) }

type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}

// human writes "15:04:05.000 INFO  message key=value ...".
type human struct {
	w      io.Writer
	colour bool
	mu     *sync.Mutex
	attrs  []slog.Attr
	group  string
}

var levelColour = map[slog.Level]string{
	slog.LevelDebug: "\033[90m", slog.LevelInfo: "\033[32m", slog.LevelWarn: "\033[33m", slog.LevelError: "\033[31m",
}

func (h *human) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *human) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Time.Format("15:04:05.000"))
	b.WriteByte(' ')
	level := fmt.Sprintf("%-5s", r.Level.String())
	if h.colour {
		level = levelColour[r.Level] + level + "\033[0m"
	}
	b.WriteString(level)
	b.WriteByte(' ')
	b.WriteString(r.Message)
	for _, a := range h.attrs {
		writeAttr(&b, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, h.group, a)
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			writeAttr(b, prefix+a.Key+".", g)
		}
		return
	}
	v := a.Value.String()
	if a.Value.Kind() == slog.KindTime {
		v = a.Value.Time().Format(time.RFC3339)
	}
	if v == "" {
		return // an empty field says nothing to a reader
	}
	if strings.ContainsAny(v, " \t\n\"=") {
		v = strconv.Quote(v)
	}
	fmt.Fprintf(b, " %s%s=%s", prefix, a.Key, v)
}

func (h *human) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]slog.Attr{}, h.attrs...)
	for _, a := range as {
		a.Key = h.group + a.Key
		c.attrs = append(c.attrs, a)
	}
	return &c
}

func (h *human) WithGroup(name string) slog.Handler {
	c := *h
	c.group += name + "."
	return &c
}
