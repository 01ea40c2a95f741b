package testpeer

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// nodeMediaServerPackage is where `make deps` installs npm's
// node-media-server (the version is pinned there), relative to the module root.
const nodeMediaServerPackage = "build/npm/node_modules/node-media-server"

// NodeMediaServer is npm's node-media-server, an RTMP live server written
// independently of nginx-rtmp and FFmpeg, relaying every stream to players.
type NodeMediaServer struct {
	*Proc
	Port int
}

// StartNodeMediaServer starts node-media-server on a free loopback port with
// only RTMP enabled (no HTTP, admin or recording) and stops it when the test
// ends. It skips the test when node or the package is not installed.
func StartNodeMediaServer(t testing.TB) *NodeMediaServer {
	t.Helper()
	pkg, err := nodeMediaServerDir()
	if err != nil {
		t.Skipf("node-media-server is not installed (make deps installs it): %v", err)
	}
	Need(t, "node")
	dir := t.TempDir()
	s := &NodeMediaServer{Port: FreePort(t)}
	config, err := json.MarshalIndent(map[string]any{
		"bind":     "127.0.0.1",
		"rtmp":     map[string]any{"port": s.Port},
		"store":    map[string]any{"path": filepath.Join(dir, "data")},
		"webadmin": map[string]any{"enable": false},
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	configPath := filepath.Join(dir, "config.json")
	// Its bin/app.js would write secrets back into the config; the library
	// alone runs the servers the config names. It logs with console.log, and
	// stderr is what a Proc keeps.
	launcher := fmt.Sprintf(`console.log = console.error;
const NodeMediaServer = require(%q);
const config = JSON.parse(require("fs").readFileSync(%q, "utf8"));
new NodeMediaServer(config, %q).run();
`, pkg, configPath, configPath)
	launcherPath := filepath.Join(dir, "run.js")
	if err := os.WriteFile(configPath, config, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(launcherPath, []byte(launcher), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Proc = start(t, nil, "node", launcherPath)
	ok := Eventually(15*time.Second, func() bool {
		select {
		case <-s.Done():
			return true
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr(), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		return false
	})
	select {
	case <-s.Done():
		t.Fatalf("node-media-server exited: %v\n%s", s.err, s.Output())
	default:
	}
	if !ok {
		t.Fatalf("node-media-server did not listen on %s:\n%s", s.Addr(), s.Output())
	}
	return s
}

// nodeMediaServerDir finds the installed package from the module root.
func nodeMediaServerDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			pkg := filepath.Join(dir, nodeMediaServerPackage)
			if _, err := os.Stat(filepath.Join(pkg, "package.json")); err != nil {
				return "", err
			}
			return pkg, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Addr is host:port.
func (s *NodeMediaServer) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.Port) }

// URL is rtmp://127.0.0.1:PORT/app/name.
func (s *NodeMediaServer) URL(app, name string) string {
	return fmt.Sprintf("rtmp://%s/%s/%s", s.Addr(), app, name)
}

// Publishes counts the publishers the server accepted for app/name.
func (s *NodeMediaServer) Publishes(app, name string) int {
	return countMatches(s.Output(), `start push /`+regexp.QuoteMeta(app+"/"+name)+`\b`)
}

// Plays counts the players the server accepted for app/name.
func (s *NodeMediaServer) Plays(app, name string) int {
	return countMatches(s.Output(), `start play /`+regexp.QuoteMeta(app+"/"+name)+`\b`)
}
