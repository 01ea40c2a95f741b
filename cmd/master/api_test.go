package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/stub/pb"
)

// What a GUI needs: watch events, change the encoder, the scene and the
// plugins through the Control API; bad values are refused; the config file
// keeps the changes.
func TestSettingsSceneAndPluginsOverAPI(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("plugins:\n  dir: "+filepath.Join(binDir, "plugins")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, nil, "-config", cfg, "-source", "pattern", "-width", "320", "-height", "180")
	m.AwaitConfigured(10*time.Second, "encoder", "pluginhost")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	events, err := m.Client.WatchEvents(ctx, &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := events.Recv()
	for err == nil && first.GetStatus() == nil {
		first, err = events.Recv()
	}
	if err != nil || first.GetStatus().GetSettings().GetWidth() != 320 {
		t.Fatalf("first status event: %v %v", first, err)
	}

	settings := first.GetStatus().GetSettings()
	settings.BitrateKbps = 1234
	if _, err := m.Client.SetEncoder(ctx, settings); err != nil {
		t.Fatal(err)
	}
	bad := proto.Clone(settings).(*pb.EncoderSettings)
	bad.Width = 7
	if _, err := m.Client.SetEncoder(ctx, bad); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "encoder.width") {
		t.Fatalf("width 7 accepted or unclear: %v", err)
	}
	// The change shows up as a status event and as a log line.
	sawStatus, sawLog := false, false
	for !(sawStatus && sawLog) {
		ev, err := events.Recv()
		if err != nil {
			t.Fatalf("events: %v (status %v, log %v)", err, sawStatus, sawLog)
		}
		sawStatus = sawStatus || ev.GetStatus().GetSettings().GetBitrateKbps() == 1234
		sawLog = sawLog || strings.Contains(ev.GetLog(), "1234")
	}

	if _, err := m.Client.SetScene(ctx, &pb.Scene{Layers: []*pb.Layer{{Source: "color:#0000ff", Opacity: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Client.SetScene(ctx, &pb.Scene{Layers: []*pb.Layer{{Source: "webcam:0", Opacity: 1}}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a bad source accepted: %v", err)
	}
	if _, err := m.Client.SetPlugins(ctx, &pb.PluginList{Plugins: []*pb.PluginSpec{{Name: "clock"}}}); err != nil {
		t.Fatal(err)
	}
	m.Await("clock running", 15*time.Second, func() bool {
		p := m.Status().GetPlugins()
		return len(p) == 1 && p[0].GetState() == "running"
	})
	m.Await("blue scene", 10*time.Second, func() bool {
		r, err := m.Client.Snapshot(ctx, &pb.SnapshotRequest{Format: "png", Width: 32, Height: 18})
		if err != nil {
			return false
		}
		img, err := decodePNG(r.GetImage())
		if err != nil {
			return false
		}
		cr, cg, cb, _ := img.At(2, 16).RGBA()
		return cb>>8 > 200 && cr>>8 < 40 && cg>>8 < 40
	})
	file := readFile(t, cfg)
	for _, want := range []string{"bitrate_kbps: 1234", "color:#0000ff", "name: clock"} {
		if !strings.Contains(file, want) {
			t.Errorf("config file lacks %q:\n%s", want, file)
		}
	}
}
