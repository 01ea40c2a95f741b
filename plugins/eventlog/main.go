// Command eventlog is an OnAir event plugin: it appends every studio event to
// a file, one line each.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/onair-studio/onair/plugins/sdk"
)

type eventlog struct {
	sdk.Base
	file   string
	format string
}

func (*eventlog) Info() sdk.Info {
	return sdk.Info{
		Name: "eventlog", Version: "1.0.0", Kind: sdk.KindEvent,
		Description: "Appends studio events to a file.",
		Params: []sdk.Param{
			{Name: "file", Type: sdk.TypeString, Default: "onair-events.log", Description: "file to append to (relative to the plugins directory)"},
			{Name: "format", Type: sdk.TypeString, Default: "text", Choices: []string{"text", "json"}, Description: "text: time, kind, key=value fields; json: one object per line"},
		},
	}
}

func (l *eventlog) Configure(_ context.Context, p map[string]string) error {
	if p["file"] == "" {
		return fmt.Errorf("file: empty")
	}
	// Say now, not at the first event, if the file cannot be written.
	f, err := open(p["file"])
	if err != nil {
		return err
	}
	f.Close()
	l.file, l.format = p["file"], p["format"]
	return nil
}

func open(name string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
}

func (l *eventlog) OnEvent(_ context.Context, e sdk.Event) error {
	var line []byte
	if l.format == "json" {
		var err error
		line, err = json.Marshal(struct {
			Time   time.Time         `json:"time"`
			Kind   string            `json:"kind"`
			Fields map[string]string `json:"fields,omitempty"`
		}{e.Time.UTC(), e.Kind, e.Fields})
		if err != nil {
			return err
		}
	} else {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString(e.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00") + " " + e.Kind)
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%q", k, e.Fields[k])
		}
		line = []byte(b.String())
	}
	f, err := open(l.file)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func main() { sdk.Serve(&eventlog{}) }
