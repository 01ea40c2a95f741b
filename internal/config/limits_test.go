package config

import (
	"strings"
	"testing"
)

// A plugin's binary is a file in the plugins directory: a path out of it is
// refused with the file, line and key, before anything runs.
func TestPluginBinaryStaysInThePluginsDir(t *testing.T) {
	for _, binary := range []string{"../other/evil", "/usr/bin/evil", "sub/evil", ".."} {
		path := writeConfig(t, "plugins:\n  list:\n    - name: evil\n      binary: "+binary+"\n")
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), path+":4: plugins.list.0.binary: ") ||
			!strings.Contains(err.Error(), "a plugin binary is a file name in the plugins directory") {
			t.Errorf("binary %q: %v", binary, err)
		}
	}
	if _, err := Load(writeConfig(t, "plugins:\n  list:\n    - {name: clock2, binary: clock}\n")); err != nil {
		t.Errorf("a plain binary name: %v", err)
	}
}
