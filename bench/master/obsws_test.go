package master

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andreykaipov/goobs"
	"github.com/andreykaipov/goobs/api/events"
	"github.com/andreykaipov/goobs/api/events/subscriptions"

	"github.com/onair-studio/onair/internal/obsserver"
	"github.com/onair-studio/onair/internal/testpeer"
)

// BenchmarkObsWebSocketMeterClients measures the master's CPU while live
// with no obs-websocket client, then with 10 clients subscribed to volume
// meters (target: at most +1% of a core).
func BenchmarkObsWebSocketMeterClients(b *testing.B) {
	cfg := filepath.Join(b.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("audio:\n  sources: [{source: \"tone:440\"}]\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	nginx := testpeer.StartNginx(b, testpeer.NginxOptions{})
	m := testpeer.StartMaster(b, testpeer.Binaries(b), nil, "-config", cfg, "-children", "encoder", "-source", "pattern",
		"-width", "1280", "-height", "720", "-dest", nginx.URL("live", "bench"), "-live", "-obs-websocket", "127.0.0.1:0")
	awaitLive(m, 1)
	addr, password := obsEndpoint(b, m)
	pid := m.Cmd.Process.Pid
	without := cpuRate(b, pid)

	var meters atomic.Int64
	for i := 0; i < 10; i++ {
		c, err := goobs.New(addr, goobs.WithPassword(password),
			goobs.WithEventSubscriptions(subscriptions.All|subscriptions.InputVolumeMeters))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Disconnect()
		go c.Listen(func(ev any) {
			if _, ok := ev.(*events.InputVolumeMeters); ok {
				meters.Add(1)
			}
		})
	}
	m.Await("meters reaching the clients", 10*time.Second, func() bool { return meters.Load() > 100 })
	before := meters.Load()
	with := cpuRate(b, pid)
	perClient := float64(meters.Load()-before) / 10 / 10
	fmt.Printf("master CPU at 720p30, live: %.2f%% of a core without obs-websocket clients, %.2f%% with 10 subscribed to meters (%+.2f points; %.1f meter events/s per client)\n",
		without*100, with*100, (with-without)*100, perClient)
	b.ReportMetric(without*100, "cpu%-0clients")
	b.ReportMetric(with*100, "cpu%-10clients")
}

// obsEndpoint is the master's obs-websocket address and password.
func obsEndpoint(b *testing.B, m *testpeer.Master) (addr, password string) {
	addrRE := regexp.MustCompile(`obs-websocket v5 server running.*addr=(\S+)`)
	m.Await("obs-websocket listening", 10*time.Second, func() bool {
		if s := addrRE.FindStringSubmatch(m.Out.String()); s != nil {
			addr = s[1]
		}
		return addr != ""
	})
	pw, err := os.ReadFile(filepath.Join(m.ConfigHome, "onair", obsserver.PasswordFile))
	if err != nil {
		b.Fatal(err)
	}
	return addr, strings.TrimSpace(string(pw))
}

// obsClient is a goobs client of the master's obs-websocket server,
// disconnected when the benchmark ends.
func obsClient(b *testing.B, m *testpeer.Master) *goobs.Client {
	addr, password := obsEndpoint(b, m)
	c, err := goobs.New(addr, goobs.WithPassword(password))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Disconnect() })
	return c
}
