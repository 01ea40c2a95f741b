package logfmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

func TestHumanLinesReadWell(t *testing.T) {
	var buf bytes.Buffer
	h, err := New(&buf, "human", false)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(h).With("child", "encoder")
	log.Warn("child restarted", "restarts", 3, "why", "exit status 1", "empty", "")
	log.WithGroup("dest").Error("down", "url", "rtmp://a/live/ab****", "err", errors.New("refused"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`^\d\d:\d\d:\d\d\.\d{3} WARN  child restarted child=encoder restarts=3 why="exit status 1"$`,
		`^\d\d:\d\d:\d\d\.\d{3} ERROR down child=encoder dest.url=rtmp://a/live/ab\*\*\*\* dest.err=refused$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("lines:\n%s", buf.String())
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %q does not match %s", lines[i], re)
		}
	}
}

func TestColourOnlyWhenAsked(t *testing.T) {
	var plain, coloured bytes.Buffer
	for _, c := range []struct {
		buf    *bytes.Buffer
		colour bool
	}{{&plain, false}, {&coloured, true}} {
		h, _ := New(c.buf, "human", c.colour)
		slog.New(h).Error("x")
	}
	if strings.Contains(plain.String(), "\033[") || !strings.Contains(coloured.String(), "\033[31mERROR") {
		t.Fatalf("plain %q, coloured %q", plain.String(), coloured.String())
	}
}

func TestJSONLinesAndFanout(t *testing.T) {
	var js, text bytes.Buffer
	jh, _ := New(&js, "json", false)
	th, _ := New(&text, "human", false)
	slog.New(Fanout(jh, th)).Info("master running", "pid", 42)
	var line map[string]any
	if err := json.Unmarshal(js.Bytes(), &line); err != nil || line["msg"] != "master running" || line["pid"] != 42.0 {
		t.Fatalf("json line %q: %v", js.String(), err)
	}
	if !strings.Contains(text.String(), "INFO  master running pid=42") {
		t.Fatalf("human line %q", text.String())
	}
	if _, err := New(&js, "xml", false); err == nil || !strings.Contains(err.Error(), "human, json") {
		t.Fatalf("an unknown format: %v", err)
	}
}
