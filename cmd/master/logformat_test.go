package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The terminal gets lines people read; -log-format json gives one JSON
// object a line for log shippers; an unknown format is a usage error.
func TestLogFormats(t *testing.T) {
	t.Parallel()
	human := startMaster(t, nil, "-children", "plugins")
	human.Await("master running logged", 10*time.Second, func() bool {
		return regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{3} INFO  master running pid=\d+`).MatchString(human.Out.String())
	})

	js := startMaster(t, nil, "-children", "plugins", "-log-format", "json")
	js.Await("master running logged as JSON", 10*time.Second, func() bool {
		for _, l := range strings.Split(js.Out.String(), "\n") {
			var line map[string]any
			if json.Unmarshal([]byte(l), &line) == nil && line["msg"] == "master running" && line["level"] == "INFO" && line["pid"] != nil {
				return true
			}
		}
		return false
	})

	cmd := exec.Command(filepath.Join(binDir, "master"), "-headless", "-log-format", "xml")
	cmd.Env = human.Env
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "human, json") {
		t.Fatalf("-log-format xml: %v\n%s", err, out)
	}
}
