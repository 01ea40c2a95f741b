package master

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/pluginhost"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// BenchmarkPluginEditToScreen measures the plugin author's wait: from the
// install of a rebuilt plugin (its binary renamed into the plugins
// directory and its manifest rewritten) to its first frame in the program,
// seen in snapshots taken every 10 ms. Two builds of a `master plugin new`
// plugin that differ in colour are installed in turn, 10 times.
func BenchmarkPluginEditToScreen(b *testing.B) {
	bin := testpeer.Binaries(b)
	mod := filepath.Join(b.TempDir(), "hello")
	if out, err := exec.Command(filepath.Join(bin, "master"), "plugin", "new", "hello", "-dir", mod).CombinedOutput(); err != nil {
		b.Fatalf("plugin new: %v\n%s", err, out)
	}
	colours := []string{"#3060ff", "#ff8000"}
	builds := make([][]byte, len(colours))
	src, err := os.ReadFile(filepath.Join(mod, "main.go"))
	if err != nil {
		b.Fatal(err)
	}
	for i, c := range colours {
		edited := strings.Replace(string(src), `Default: "#3060ff"`, `Default: "`+c+`"`, 1)
		if err := os.WriteFile(filepath.Join(mod, "main.go"), []byte(edited), 0o644); err != nil {
			b.Fatal(err)
		}
		if out, err := exec.Command("make", "-C", mod, "build").CombinedOutput(); err != nil {
			b.Fatalf("make build: %v\n%s", err, out)
		}
		if builds[i], err = os.ReadFile(filepath.Join(mod, "hello")); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	install := func(data []byte) {
		tmp := filepath.Join(dir, ".hello.new")
		if err := os.WriteFile(tmp, data, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "hello")); err != nil {
			b.Fatal(err)
		}
		if _, err := pluginhost.WriteManifest(dir); err != nil {
			b.Fatal(err)
		}
	}
	install(builds[0])
	cfg := filepath.Join(b.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("plugins:\n  dir: "+dir+"\n  list:\n    - name: hello\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	m := testpeer.StartMaster(b, bin, nil, "-config", cfg, "-source", "color:#202020", "-width", "640", "-height", "360")
	// shows reports whether the box (at 16,16) has colour c.
	shows := func(c string) bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, err := m.Client.Snapshot(ctx, &pb.SnapshotRequest{Format: "png"})
		if err != nil {
			return false
		}
		img, err := png.Decode(bytes.NewReader(r.GetImage()))
		if err != nil {
			return false
		}
		var want [3]uint32
		fmt.Sscanf(c, "#%02x%02x%02x", &want[0], &want[1], &want[2])
		for _, p := range []image.Point{{20, 20}, {40, 30}} {
			r, g, bl, _ := img.At(p.X, p.Y).RGBA()
			for i, v := range []uint32{r >> 8, g >> 8, bl >> 8} {
				if max(v, want[i])-min(v, want[i]) > 24 {
					return false
				}
			}
		}
		return true
	}
	m.Await("the first build in the program", 30*time.Second, func() bool { return shows(colours[0]) })
	var took []time.Duration
	for i := 1; len(took) < 10; i++ {
		c := colours[i%2]
		start := time.Now()
		install(builds[i%2])
		for !shows(c) {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("build %s not in the program 10 s after its install", c)
			}
			time.Sleep(10 * time.Millisecond) // the sampling period of the measurement
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	fmt.Printf("plugin install -> its first frame in the program (10 installs): median %v, max %v\n",
		took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "median-ms")
	b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "max-ms")
}
