package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/output"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// Fifty API changes at once (destinations added, edited and removed,
// encoder settings, plugins) all reach the config file, and nothing else in
// it is lost; a reader of the file meanwhile always finds a whole file.
func TestConcurrentAPIChangesAllSaved(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	pluginsDir := filepath.Join(binDir, "plugins")
	body := fmt.Sprintf("plugins:\n  dir: %s\n  list:\n    - {name: clock}\ndestinations:\n", pluginsDir)
	// Ten to edit in place, then five to remove: removing index 10 five
	// times takes exactly those five, whatever the order, and moves none of
	// the ten.
	server := fmt.Sprintf("rtmp://127.0.0.1:%d/live", testpeer.ClosedPort(t))
	for i := range 10 {
		body += fmt.Sprintf("  - {name: e%d, service: custom, url: %q}\n", i, server)
	}
	for i := range 5 {
		body += fmt.Sprintf("  - {name: r%d, service: custom, url: %q}\n", i, server)
	}
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, nil, "-config", cfg, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180")
	settings := m.AwaitConfigured(10*time.Second, "encoder").GetSettings()

	stop := make(chan struct{})
	readErr := make(chan error, 1)
	go func() { readErr <- readWhole(cfg, pluginsDir, stop) }()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var calls []func() error
	for i := range 20 {
		spec := &pb.DestinationSpec{Name: fmt.Sprintf("a%02d", i), Service: "custom", Url: server}
		if i%2 == 0 {
			spec.Key = fmt.Sprintf("sk_added_%02d", i)
		}
		calls = append(calls, func() error { _, err := m.Client.AddDestination(ctx, spec); return err })
	}
	for i := range 10 {
		up := &pb.DestinationUpdate{Index: int32(i), Spec: &pb.DestinationSpec{Name: fmt.Sprintf("e%d-edited", i), Service: "custom", Url: server}}
		calls = append(calls, func() error { _, err := m.Client.UpdateDestination(ctx, up); return err })
	}
	for range 5 {
		calls = append(calls, func() error { _, err := m.Client.RemoveDestination(ctx, &pb.DestinationRequest{Index: 10}); return err })
	}
	for i := range 10 {
		s := proto.Clone(settings).(*pb.EncoderSettings)
		s.BitrateKbps = int32(1000 + i)
		calls = append(calls, func() error { _, err := m.Client.SetEncoder(ctx, s); return err })
	}
	for i := range 5 {
		pl := &pb.PluginList{Plugins: []*pb.PluginSpec{{Name: "clock"},
			{Name: "mark", Binary: "watermark", Params: map[string]string{"opacity": fmt.Sprintf("0.%d", i+1)}}}}
		calls = append(calls, func() error { _, err := m.Client.SetPlugins(ctx, pl); return err })
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(calls))
	for _, call := range calls {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- call() }()
	}
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("API call: %v", err)
		}
	}
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}

	file, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := m.Status()
	var want, inFile, running []string
	for i := range 10 {
		want = append(want, fmt.Sprintf("e%d-edited", i))
	}
	for i := range 20 {
		want = append(want, fmt.Sprintf("a%02d", i))
	}
	for _, d := range file.Destinations {
		inFile = append(inFile, d.Name)
	}
	for _, d := range st.GetDestinations() {
		running = append(running, d.GetName())
	}
	if !slices.Equal(inFile, running) || len(inFile) != len(want) || !slices.Equal(inFile[:10], want[:10]) {
		t.Fatalf("destinations in the file %v\nrunning %v\nwant, the added ones in any order, %v", inFile, running, want)
	}
	slices.Sort(inFile[10:])
	if !slices.Equal(inFile, want) {
		t.Fatalf("destinations in the file %v, want %v", inFile, want)
	}
	if got := file.Encoder.BitrateKbps; got != int(st.GetSettings().GetBitrateKbps()) || got < 1000 || got > 1009 {
		t.Errorf("bitrate in the file %d, running %d", got, st.GetSettings().GetBitrateKbps())
	}
	var plugins []string
	for _, p := range file.Plugins.List {
		plugins = append(plugins, p.Name+"="+p.Params["opacity"])
	}
	var runningPlugins []string
	for _, p := range st.GetPluginList() {
		runningPlugins = append(runningPlugins, p.GetName()+"="+p.GetParams()["opacity"])
	}
	if !slices.Equal(plugins, runningPlugins) || len(plugins) != 2 || file.Plugins.Dir != pluginsDir {
		t.Errorf("plugins in the file %v (dir %q), running %v", plugins, file.Plugins.Dir, runningPlugins)
	}
	if strings.Contains(readFile(t, cfg), "sk_added") {
		t.Error("a stream key is in the config file")
	}
}

// readWhole loads the config file until stop closes, and says if it ever
// found it unreadable or without what it held from the start.
func readWhole(path, pluginsDir string, stop <-chan struct{}) error {
	for reads := 1; ; reads++ {
		select {
		case <-stop:
			return nil
		default:
		}
		c, err := config.Load(path)
		switch {
		case err != nil:
			return fmt.Errorf("reading the config file during the changes (read %d): %v", reads, err)
		case c.Plugins.Dir != pluginsDir || len(c.Destinations) < 10:
			return fmt.Errorf("read %d of the config file found it without its plugins or destinations: %+v", reads, c)
		}
	}
}

// keySafe checks that the config file holds none of the keys and is
// readable by the user only.
func keySafe(t *testing.T, path string, keys ...string) {
	t.Helper()
	text := readFile(t, path)
	for _, k := range keys {
		if strings.Contains(text, k) {
			t.Errorf("stream key %s is in the config file", output.MaskKey(k))
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

// openConfig writes a config file that others may read, as an editor or a
// copy might leave it.
func openConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return path
}

// awaitLive waits until destination i is live under name and nginx saw n
// publishes with key.
func awaitLive(m *testpeer.Master, nginx *testpeer.Nginx, i int, name, key string, n int) {
	m.T.Helper()
	m.Await(fmt.Sprintf("destination %d (%s) live with its key", i, name), 15*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) > i && d[i].GetName() == name && d[i].GetState() == "live" && nginx.Publishes(key) == n
	})
}

// However a key came in (a -dest URL, a whole URL added or edited, the
// embedded server's, a key field in the file), an edit through the API
// saves the config file without it, private; the destination streams on
// with the same key, now from the key store.
func TestStreamKeysNeverSaved(t *testing.T) {
	t.Parallel()
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	server := "rtmp://" + nginx.Addr() + "/live"
	run := []string{"-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180", "-live"}

	t.Run("dest flag and whole URL", func(t *testing.T) {
		t.Parallel()
		cfg := openConfig(t, "encoder:\n  fps: 30\n")
		m := startMaster(t, nil, append(run, "-config", cfg, "-dest", server+"/sk_flag_1")...)
		awaitLive(m, nginx, 0, "", "sk_flag_1", 1)
		// The window sends the server back without the key it showed masked.
		if out, err := m.Ctl("dest", "edit", "0", "-url", server); err != nil {
			t.Fatalf("dest edit: %v\n%s", err, out)
		}
		awaitLive(m, nginx, 0, "127.0.0.1", "sk_flag_1", 2)
		keySafe(t, cfg, "sk_flag_1")
		if out, err := m.Ctl("dest", "add", "-url", server+"/sk_whole_2"); err != nil {
			t.Fatalf("dest add: %v\n%s", err, out)
		}
		awaitLive(m, nginx, 1, "127.0.0.1-2", "sk_whole_2", 1)
		keySafe(t, cfg, "sk_flag_1", "sk_whole_2")
		if text := readFile(t, cfg); !strings.Contains(text, "name: 127.0.0.1-2") || strings.Count(text, "url: "+server+"\n") != 2 {
			t.Errorf("the config file does not name both destinations and their server:\n%s", text)
		}
		if out, _ := m.Ctl("status"); strings.Contains(out, "sk_") {
			t.Errorf("a key shows in status:\n%s", out)
		}

		// A key for a destination that does not exist is refused, and
		// stored nowhere.
		if out, err := ctlStdin(m, "sk_stray_3\n", "key", "set", "nosuch"); err == nil || !strings.Contains(out, "nosuch") {
			t.Errorf("key set for no destination: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(m.ConfigHome, "onair", "stream-keys", "nosuch")); !os.IsNotExist(err) {
			t.Errorf("a key file was left for a destination that does not exist: %v", err)
		}
		if out, err := m.Ctl("dest", "rm", "9"); err == nil || !strings.Contains(out, "no destination 9") {
			t.Errorf("dest rm of a destination that does not exist: %v\n%s", err, out)
		}
	})

	t.Run("embedded default", func(t *testing.T) {
		t.Parallel()
		cfg := openConfig(t, "encoder:\n  fps: 30\n")
		m := startMaster(t, nil, append(run, "-config", cfg)...)
		m.Await("the embedded server fed", 15*time.Second, func() bool {
			d := m.Status().GetDestinations()
			return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
		})
		key := strings.TrimSpace(readFile(t, filepath.Join(m.ConfigHome, "onair", "stream-key")))
		masked := m.Status().GetDestinations()[0].GetUrl()
		embedded := masked[:strings.LastIndex(masked, "/")]
		if out, err := m.Ctl("dest", "edit", "0", "-name", "local", "-url", embedded); err != nil {
			t.Fatalf("dest edit: %v\n%s", err, out)
		}
		m.Await("the renamed default feeding the embedded server again", 15*time.Second, func() bool {
			st := m.Status()
			d := st.GetDestinations()
			return len(d) == 1 && d[0].GetName() == "local" && d[0].GetState() == "live" && st.GetRtmpPlay() != ""
		})
		keySafe(t, cfg, key)
		if text := readFile(t, cfg); !strings.Contains(text, "name: local") {
			t.Errorf("the edited default is not in the config file:\n%s", text)
		}
	})

	t.Run("key field in the file", func(t *testing.T) {
		t.Parallel()
		cfg := openConfig(t, fmt.Sprintf("destinations:\n  - {name: inl, service: custom, url: %q, key: sk_field_4}\n", server))
		m := startMaster(t, nil, append(run, "-config", cfg)...)
		awaitLive(m, nginx, 0, "inl", "sk_field_4", 1)
		if out, err := m.Ctl("dest", "edit", "0", "-name", "inline", "-service", "custom", "-url", server); err != nil {
			t.Fatalf("dest edit: %v\n%s", err, out)
		}
		awaitLive(m, nginx, 0, "inline", "sk_field_4", 2)
		keySafe(t, cfg, "sk_field_4")
	})
}
