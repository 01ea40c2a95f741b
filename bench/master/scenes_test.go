package master

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/andreykaipov/goobs/api/requests/scenes"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// BenchmarkSceneSwitch measures a switch from its call to the first
// picture of the new scene decoded by a player of the embedded live server
// (the default destination), at 1280x720 30 fps, over 20 switches between
// two solid-colour scenes: called through the Control API, and as a stream
// deck does, through obs-websocket's SetCurrentProgramScene (goobs).
func BenchmarkSceneSwitch(b *testing.B) {
	b.Run("api", func(b *testing.B) {
		m := sceneMaster(b)
		sceneSwitchLatency(b, m, "the Control API", func(name string) error {
			_, err := m.Client.SwitchScene(context.Background(), &pb.SwitchSceneRequest{Name: name, Transition: "cut"})
			return err
		})
	})
	b.Run("obs-websocket", func(b *testing.B) {
		m := sceneMaster(b, "-obs-websocket", "127.0.0.1:0")
		c := obsClient(b, m)
		sceneSwitchLatency(b, m, "obs-websocket", func(name string) error {
			_, err := c.Scenes.SetCurrentProgramScene(&scenes.SetCurrentProgramSceneParams{SceneName: &name})
			return err
		})
	})
}

// sceneMaster is a live master at 720p30 with two solid-colour scenes, A
// (red) and B (blue).
func sceneMaster(b *testing.B, args ...string) *testpeer.Master {
	cfg := filepath.Join(b.TempDir(), "config.yaml")
	body := "scenes:\n  list:\n    - {name: A, layers: [{source: \"color:#ff0000\"}]}\n    - {name: B, layers: [{source: \"color:#0000ff\"}]}\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		b.Fatal(err)
	}
	return testpeer.StartMaster(b, testpeer.Binaries(b), nil, append([]string{"-config", cfg, "-children", "encoder",
		"-width", "1280", "-height", "720", "-fps", "30", "-live"}, args...)...)
}

// sceneSwitchLatency switches 20 times between A and B with switchTo and
// reports the time from each call to the first new picture at a player.
func sceneSwitchLatency(b *testing.B, m *testpeer.Master, via string, switchTo func(name string) error) {
	var url string
	m.Await("the embedded server playing", 20*time.Second, func() bool {
		url = m.Status().GetRtmpPlay()
		return url != ""
	})
	viewer := testpeer.StartPixelReader(b, url, 16, 9)
	// The first picture of the new scene: for a fade (obs-websocket's
	// SetCurrentProgramScene uses the default transition, as OBS does),
	// the first one that has begun to turn.
	turned := func(p testpeer.Picture, toRed bool) bool {
		r, _, _ := viewer.At(p, 8, 4)
		return toRed && r > 25 || !toRed && r < 230
	}
	m.Await("the player playing", 20*time.Second, func() bool { return viewer.Count() > 0 })
	var lat []time.Duration
	for i := 0; i < 20; i++ {
		name, wantRed := "B", false
		if i%2 == 1 {
			name, wantRed = "A", true
		}
		called := time.Now()
		if err := switchTo(name); err != nil {
			b.Fatal(err)
		}
		var seen time.Time
		m.Await("scene "+name+" at the player", 5*time.Second, func() bool {
			for _, p := range viewer.Pictures() {
				if p.At.After(called) && turned(p, wantRed) {
					seen = p.At
					return true
				}
			}
			return false
		})
		lat = append(lat, seen.Sub(called))
	}
	slices.Sort(lat)
	p50, p95 := lat[len(lat)/2], lat[len(lat)*95/100]
	fmt.Printf("scene switch through %s -> first new picture at a player of the embedded server, 720p30, %d switches: p50 %v, p95 %v\n",
		via, len(lat), p50.Round(time.Millisecond), p95.Round(time.Millisecond))
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
}

// BenchmarkStudioModePreviewCPU measures the encoder's CPU while live at
// 1280x720 30 fps, over 10 s with studio mode off, then 10 s with a preview
// scene (the test pattern under a caption) composed (target: at most +5% of
// a core).
func BenchmarkStudioModePreviewCPU(b *testing.B) {
	cfg := filepath.Join(b.TempDir(), "config.yaml")
	body := "scenes:\n  list:\n    - {name: A, layers: [{source: pattern}]}\n" +
		"    - {name: B, layers: [{source: pattern}, {source: \"text:{outline=#000000}Be right back\", x: 40, y: 600}]}\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		b.Fatal(err)
	}
	nginx := testpeer.StartNginx(b, testpeer.NginxOptions{})
	m := testpeer.StartMaster(b, testpeer.Binaries(b), nil, "-config", cfg, "-children", "encoder",
		"-width", "1280", "-height", "720", "-fps", "30", "-dest", nginx.URL("live", "bench"), "-live")
	awaitLive(m, 1)
	var pid int
	for _, c := range m.Status().GetChildren() {
		if c.GetName() == "encoder" {
			pid = int(c.GetPid())
		}
	}
	off := cpuRate(b, pid)
	if _, err := m.Client.SetPreviewScene(context.Background(), &pb.SceneRequest{Name: "B"}); err != nil {
		b.Fatal(err)
	}
	m.Await("the preview composed", 10*time.Second, func() bool {
		_, err := m.Client.Snapshot(context.Background(), &pb.SnapshotRequest{Format: "png", Preview: true})
		return err == nil
	})
	on := cpuRate(b, pid)
	skipped := m.Status().GetEncoder().GetSkippedFrames()
	fmt.Printf("encoder CPU at 720p30, live: %.1f%% of a core with studio mode off, %.1f%% with the preview on (%+.1f points); %d program frames skipped in all\n",
		off*100, on*100, (on-off)*100, skipped)
	b.ReportMetric(off*100, "cpu%-off")
	b.ReportMetric(on*100, "cpu%-preview")
}
