package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/onair-studio/onair/stub/pb"
)

func TestGoLiveCallsStart(t *testing.T) {
	r := newRig(t)
	b := r.studio.live.goLive
	if b.Text != "Go Live" || b.Disabled() {
		t.Fatalf("off air: button %q disabled=%v, want an enabled Go Live", b.Text, b.Disabled())
	}
	test.Tap(b)
	r.await("Start called and the live state shown", func() bool {
		return r.master.called("Start") != "" && b.Text == "Stop" && r.studio.live.onAir.Text == "LIVE" && !b.Disabled()
	})
	if !strings.Contains(r.studio.Title(), "LIVE") {
		t.Fatalf("title %q does not say LIVE", r.studio.Title())
	}
	test.Tap(b)
	r.await("Stop called", func() bool { return r.master.called("Stop") != "" && b.Text == "Go Live" })
}

func TestDestinationStatesAndErrorsRender(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.Live = true
		st.Destinations = []*pb.DestinationStatus{
			{Name: "main", Url: "rtmps://live.twitch.tv:443/app/li****", State: "live", FramesSent: 300, BytesSent: 2 << 20},
			{Url: "rtmp://backup.example.com/live/ab****", State: "retrying", NextAttemptMs: 2000, Attempts: 3,
				Error: "dial tcp 192.0.2.1:1935: connection refused"},
			{Name: "yt", Url: "rtmps://a.rtmps.youtube.com:443/live2/****", State: "failed", Error: "publish refused"},
		}
	})
	r.await("three destination rows", func() bool { return len(r.studio.dests.rows) == 3 })
	rows := r.studio.dests.rows
	if got := rows[0].title.Text; got != "main — rtmps://live.twitch.tv:443/app/li****" {
		t.Errorf("row 0 title %q", got)
	}
	if rows[0].state.Text != "live" || rows[0].errMsg.Visible() {
		t.Errorf("row 0: state %q, error shown %v; want live, no error", rows[0].state.Text, rows[0].errMsg.Visible())
	}
	if !strings.HasPrefix(rows[1].state.Text, "retrying in 2s") {
		t.Errorf("row 1 state %q, want the retry countdown", rows[1].state.Text)
	}
	if !rows[1].errMsg.Visible() || !strings.Contains(rows[1].errMsg.Text, "connection refused") {
		t.Errorf("row 1 error %q (shown %v), want the last error", rows[1].errMsg.Text, rows[1].errMsg.Visible())
	}
	if rows[2].state.Text != "failed" || !strings.Contains(rows[2].errMsg.Text, "publish refused") {
		t.Errorf("row 2: %q %q", rows[2].state.Text, rows[2].errMsg.Text)
	}
	if !strings.Contains(rows[0].counters.Text, "300 frames sent, 2.0 MiB") {
		t.Errorf("row 0 counters %q", rows[0].counters.Text)
	}
	markup := test.RenderObjectToMarkup(r.studio.dests.content)
	for _, want := range []string{"connection refused", "retrying in 2s", "publish refused"} {
		if !strings.Contains(markup, want) {
			t.Errorf("the rendered panel lacks %q", want)
		}
	}

	test.Tap(rows[1].reconnect)
	r.await("Reconnect of destination 1", func() bool { return r.master.called("Reconnect") == "Reconnect index:1" })

	// A state change updates the row in place.
	r.master.set(func(st *pb.MasterStatus) { st.Destinations[1].State, st.Destinations[1].Error = "live", "" })
	r.await("row 1 live", func() bool { return rows[1].state.Text == "live" && !rows[1].errMsg.Visible() })
}

func TestBadURLShowsInlineErrorAndSendsNothing(t *testing.T) {
	r := newRig(t)
	f := newDestForm(r.studio, -1)
	f.show()
	f.service.SetSelected("custom")
	test.Type(f.name.entry, "backup")
	test.Type(f.url.entry, "http://example.com/live/key")
	if !f.url.msg.Visible() || !strings.Contains(f.url.msg.Text, "rtmp://") {
		t.Fatalf("bad scheme: inline message %q (shown %v), want one naming rtmp://", f.url.msg.Text, f.url.msg.Visible())
	}
	if !f.save.Disabled() {
		t.Fatal("Save is enabled with a bad URL")
	}
	test.Tap(f.save)
	f.submit() // even a direct submit refuses
	if !strings.Contains(test.RenderObjectToMarkup(f.content), "is not supported") {
		t.Error("the message is not rendered in the dialog")
	}

	// Typing on: a URL with no key, then one with a key.
	f.url.entry.SetText("rtmp://example.com/live")
	if !f.url.msg.Visible() || !strings.Contains(f.url.msg.Text, "stream key") {
		t.Fatalf("no key: message %q, want one asking for the key", f.url.msg.Text)
	}
	test.Type(f.key.entry, "sk-123456789")
	if f.url.msg.Visible() || f.save.Disabled() {
		t.Fatalf("valid entry: url message %q shown=%v, save disabled=%v", f.url.msg.Text, f.url.msg.Visible(), f.save.Disabled())
	}
	// Only now does anything reach the master.
	r.await("pending calls", func() bool { return true })
	if c := r.master.called("AddDestination"); c != "" {
		t.Fatalf("an invalid form sent %s", c)
	}
	test.Tap(f.save)
	r.await("AddDestination", func() bool { return r.master.called("AddDestination") != "" })
	got := r.master.called("AddDestination")
	for _, want := range []string{`name:"backup"`, `service:"custom"`, `url:"rtmp://example.com/live"`, `key:"sk-123456789"`} {
		if !strings.Contains(got, want) {
			t.Errorf("sent %s, missing %s", got, want)
		}
	}
	r.await("the new row", func() bool { return len(r.studio.dests.rows) == 1 })
}

func TestPresetNeedsKeyAndName(t *testing.T) {
	r := newRig(t)
	f := newDestForm(r.studio, -1)
	f.service.SetSelected("twitch")
	if f.url.entry.Visible() || !strings.Contains(f.server.Text, "twitch.tv") {
		t.Fatalf("preset: url entry shown %v, server %q", f.url.entry.Visible(), f.server.Text)
	}
	test.Type(f.name.entry, "my twitch")
	if !f.name.msg.Visible() || !f.save.Disabled() {
		t.Fatalf("a name with a space: message %q, save disabled %v", f.name.msg.Text, f.save.Disabled())
	}
	f.name.entry.SetText("twitch")
	if !f.save.Disabled() {
		t.Fatal("Save enabled for twitch without a key")
	}
	f.submit()
	if !f.key.msg.Visible() || !strings.Contains(f.key.msg.Text, "needs a stream key") {
		t.Fatalf("submit without key: key message %q", f.key.msg.Text)
	}
	if c := r.master.called("AddDestination"); c != "" {
		t.Fatalf("sent %s", c)
	}
}

func TestStreamKeyIsMasked(t *testing.T) {
	r := newRig(t)
	const key = "live_987654_SECRETkey"
	f := newDestForm(r.studio, -1)
	f.show()
	test.Type(f.key.entry, key)
	if !f.key.entry.Password || f.key.entry.Text != key {
		t.Fatalf("key entry: password=%v text ok=%v", f.key.entry.Password, f.key.entry.Text == key)
	}
	for name, markup := range map[string]string{
		"dialog": test.RenderObjectToMarkup(f.content),
		"window": test.RenderToMarkup(r.win.Canvas()),
	} {
		if strings.Contains(markup, key) || strings.Contains(markup, "SECRET") {
			t.Errorf("the %s shows the stream key", name)
		}
		if !strings.Contains(markup, strings.Repeat("•", len(key))) {
			t.Errorf("the %s does not show the key as dots", name)
		}
	}
}

func TestEditKeepsTheKeyHidden(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.Destinations = []*pb.DestinationStatus{{Name: "main", Url: "rtmps://live.twitch.tv:443/app/li****", State: "off"}}
	})
	r.await("a row", func() bool { return len(r.studio.dests.rows) == 1 })
	f := newDestForm(r.studio, 0)
	if f.service.Selected != "twitch" || f.name.entry.Text != "main" || f.key.entry.Text != "" {
		t.Fatalf("edit prefill: service %q name %q key %q", f.service.Selected, f.name.entry.Text, f.key.entry.Text)
	}
	if f.save.Disabled() {
		t.Fatal("an unchanged named preset cannot be saved (its key is stored)")
	}
}

// An edit replaces the destination in place, with the rendition it had
// unless changed, and without a key the stored one stays (also when the
// destination is renamed).
func TestEditUpdatesInPlace(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.Destinations = []*pb.DestinationStatus{
			{Name: "main", Url: "rtmps://live.twitch.tv:443/app/li****", State: "live", Rendition: "360p"},
			{Name: "backup", Url: "rtmp://example.com/live/sk****", State: "live"},
		}
	})
	r.await("two rows", func() bool { return len(r.studio.dests.rows) == 2 })
	f := newDestForm(r.studio, 0)
	if f.rend.entry.Text != "360p" {
		t.Fatalf("edit prefill: rendition %q, want 360p", f.rend.entry.Text)
	}
	f.name.entry.SetText("twitch-main")
	if f.save.Disabled() {
		t.Fatalf("a renamed preset cannot be saved without typing its key again: key message %q", f.key.msg.Text)
	}
	test.Tap(f.save)
	r.await("UpdateDestination", func() bool { return r.master.called("UpdateDestination") != "" })
	got := r.master.called("UpdateDestination")
	for _, want := range []string{`spec:{name:"twitch-main"`, `service:"twitch"`, `rendition:"360p"`} {
		if !strings.Contains(got, want) {
			t.Errorf("sent %s, missing %s", got, want)
		}
	}
	if strings.Contains(got, "index:") || strings.Contains(got, "key:") {
		t.Errorf("sent %s: want index 0 and no key", got)
	}
	if c := r.master.called("RemoveDestination") + r.master.called("AddDestination"); c != "" {
		t.Errorf("an edit removed or added: %s", c)
	}
	r.await("the row renamed in place", func() bool {
		d := r.studio.status.GetDestinations()
		return len(d) == 2 && d[0].GetName() == "twitch-main" && d[1].GetName() == "backup"
	})
}

// While the program goes to the built-in server (its destination in the
// list), the window says where to watch it; otherwise it says nothing.
func TestBuiltInServerPlayURL(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.RtmpPlay = "rtmp://127.0.0.1:1935/live/program"
		st.Destinations = []*pb.DestinationStatus{{Url: "rtmp://127.0.0.1:1935/live/ab****", State: "live"}}
	})
	r.await("the play URL shown", func() bool {
		return r.studio.dests.play.Visible() && strings.Contains(r.studio.dests.play.Text, "rtmp://127.0.0.1:1935/live/program")
	})
	r.master.set(func(st *pb.MasterStatus) { st.RtmpPlay, st.Destinations = "", nil })
	r.await("the play URL hidden", func() bool { return !r.studio.dests.play.Visible() })
}

// A destination whose key is written in its URL (shown masked, no name to
// store a key under) can be edited without typing the key again: the master
// keeps it while the server is unchanged.
func TestEditKeepsAKeyInTheURL(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.Destinations = []*pb.DestinationStatus{{Url: "rtmp://example.com/live/sk****", State: "live"}}
	})
	r.await("a row", func() bool { return len(r.studio.dests.rows) == 1 })
	f := newDestForm(r.studio, 0)
	if f.service.Selected != "custom" || f.url.entry.Text != "rtmp://example.com/live" {
		t.Fatalf("edit prefill: service %q url %q", f.service.Selected, f.url.entry.Text)
	}
	f.name.entry.SetText("backup")
	if f.save.Disabled() {
		t.Fatalf("cannot save without typing the key again: url %q, key %q", f.url.msg.Text, f.key.msg.Text)
	}
	test.Tap(f.save)
	r.await("UpdateDestination", func() bool { return r.master.called("UpdateDestination") != "" })
	if got := r.master.called("UpdateDestination"); !strings.Contains(got, `url:"rtmp://example.com/live"`) || strings.Contains(got, "key:") {
		t.Errorf("sent %s, want the server without a key", got)
	}
}

func TestEncoderSettingsValidateInRange(t *testing.T) {
	r := newRig(t)
	p := r.studio.encoder
	r.await("settings shown", func() bool { return p.fps.entry.Text == "30" })
	if !strings.Contains(p.inUse.Text, "libx264") || !strings.Contains(p.refused.Text, "h264_nvenc: no device") {
		t.Fatalf("probe: %q / %q", p.inUse.Text, p.refused.Text)
	}
	p.fps.entry.SetText("500")
	p.width.entry.SetText("1281")
	if !p.fps.msg.Visible() || !strings.Contains(p.fps.msg.Text, "1 to 240") || !p.width.msg.Visible() || !p.apply.Disabled() {
		t.Fatalf("out of range: fps %q, width %q, apply disabled %v", p.fps.msg.Text, p.width.msg.Text, p.apply.Disabled())
	}
	// Status events do not overwrite what the user is typing.
	r.master.set(func(st *pb.MasterStatus) { st.Revision++ })
	r.await("an event", func() bool { return r.studio.status.GetRevision() == 1 })
	if p.fps.entry.Text != "500" {
		t.Fatal("an event overwrote the field being edited")
	}
	p.fps.entry.SetText("60")
	p.width.entry.SetText("1920")
	p.height.entry.SetText("1080")
	p.bitrate.entry.SetText("6000")
	if p.apply.Disabled() {
		t.Fatal("Apply disabled for valid settings")
	}
	test.Tap(p.apply)
	r.await("SetEncoder", func() bool { return r.master.called("SetEncoder") != "" })
	got := r.master.called("SetEncoder")
	for _, want := range []string{"width:1920", "height:1080", "fps:60", "bitrate_kbps:6000", `preset:"veryfast"`, `source:"pattern"`} {
		if !strings.Contains(got, want) {
			t.Errorf("sent %s, missing %s", got, want)
		}
	}
}

// The encoder tab shows the last second's time per frame in each stage,
// the slowest marked, and warns when frames were skipped.
func TestEncoderTabShowsStageTimes(t *testing.T) {
	r := newRig(t)
	p := r.studio.encoder
	times := func(frames, skipped uint32, encodeMs float64) func(*pb.MasterStatus) {
		return func(st *pb.MasterStatus) {
			st.Encoder.Stages = &pb.StageTimes{Frames: frames, Skipped: skipped, Stages: []*pb.StageTime{
				{Name: "capture", MeanMs: 6.25, MaxMs: 9}, {Name: "compose", MeanMs: 0.1, MaxMs: 0.2},
				{Name: "convert", MeanMs: 0.8, MaxMs: 1.1}, {Name: "encode", MeanMs: encodeMs, MaxMs: 2 * encodeMs},
				{Name: "send", MeanMs: 0.2, MaxMs: 0.4}}}
		}
	}
	r.master.set(times(30, 0, 4))
	r.await("stage times shown", func() bool { return strings.Contains(p.stages.Text, "30 frames, 0 skipped") })
	for _, want := range []string{"capture     6.2 ms (9.0)  <- slowest", "encode      4.0 ms (8.0)\n", "send        0.2 ms (0.4)"} {
		if !strings.Contains(p.stages.Text, want) {
			t.Errorf("stage times %q lack %q", p.stages.Text, want)
		}
	}
	if p.stages.Importance == widget.WarningImportance {
		t.Error("a warning with no frame skipped")
	}
	if markup := test.RenderObjectToMarkup(p.stages); !strings.Contains(markup, "convert") {
		t.Errorf("the rendered stage times lack convert:\n%s", markup)
	}

	// Encoding falls behind: frames are skipped and encode is the stage to blame.
	r.master.set(times(20, 10, 45))
	r.await("skipped frames shown", func() bool { return strings.Contains(p.stages.Text, "20 frames, 10 skipped") })
	if !strings.Contains(p.stages.Text, "encode     45.0 ms (90.0)  <- slowest") || strings.Contains(p.stages.Text, "(9.0)  <- slowest") {
		t.Errorf("encode not marked slowest: %q", p.stages.Text)
	}
	if p.stages.Importance != widget.WarningImportance {
		t.Error("skipped frames shown without a warning")
	}
}

func TestSceneAddReorderRemove(t *testing.T) {
	r := newRig(t)
	f := newLayerForm(r.studio, -1, nil)
	f.show()
	f.kind.SetSelected("Window")
	if f.source.entry.Text != "window:" || !f.save.Disabled() || !f.source.msg.Visible() {
		t.Fatalf("window template: %q, save disabled %v, message %q", f.source.entry.Text, f.save.Disabled(), f.source.msg.Text)
	}
	f.kind.SetSelected("Region")
	f.opacity.entry.SetText("1.5")
	if !f.opacity.msg.Visible() || !f.save.Disabled() {
		t.Fatal("opacity 1.5 accepted")
	}
	f.opacity.entry.SetText("0.5")
	test.Tap(f.save)
	r.await("SetScene with the region above the pattern", func() bool {
		return len(r.studio.status.GetScene()) == 2
	})
	sc := r.studio.status.GetScene()
	if sc[0].GetSource() != "pattern" || sc[1].GetSource() != "screen:0:0,0,640x360" || sc[1].GetOpacity() != 0.5 {
		t.Fatalf("scene %v", sc)
	}
	r.studio.scene.move(1, 0)
	r.await("reordered", func() bool { return r.studio.status.GetScene()[0].GetSource() == "screen:0:0,0,640x360" })
	r.studio.scene.remove(1)
	r.await("removed", func() bool { return len(r.studio.status.GetScene()) == 1 })
}

func TestProcessesAndRestart(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.Children[0].State, st.Children[0].Restarts, st.Children[0].LastExit = "failed", 5, "signal: killed"
	})
	r.await("encoder failed shown", func() bool {
		row := r.studio.procs.rows["encoder"]
		return row != nil && row.state.Text == "failed"
	})
	row := r.studio.procs.rows["encoder"]
	if !strings.Contains(row.detail.Text, "pid 11, 5 restarts") || !strings.Contains(row.exit.Text, "signal: killed") {
		t.Fatalf("encoder row: %q / %q", row.detail.Text, row.exit.Text)
	}
	test.Tap(row.restart)
	r.await("Restart encoder", func() bool { return r.master.called("Restart") == `Restart child:"encoder"` })
}

func TestPluginsConfigureAndUnload(t *testing.T) {
	r := newRig(t)
	r.master.set(func(st *pb.MasterStatus) {
		st.PluginList = []*pb.PluginSpec{{Name: "clock"}, {Name: "watermark", Params: map[string]string{"opacity": "0.6"}}}
		st.Plugins = []*pb.PluginState{
			{Name: "clock", State: "running", Pid: 21, Schema: []*pb.PluginParam{{Name: "position", Type: "position", Default: "top-right"}}},
			{Name: "watermark", State: "backoff", Restarts: 2, Error: "watermark: exited",
				Schema: []*pb.PluginParam{{Name: "opacity", Type: "float", Default: "1"}}},
		}
	})
	r.await("two plugin rows", func() bool { return len(r.studio.plugins.rows) == 2 })
	if w := r.studio.plugins.rows[1]; w.state.Text != "backoff" || w.errMsg.Text != "watermark: exited" {
		t.Fatalf("watermark row: %q %q", w.state.Text, w.errMsg.Text)
	}
	f := newPluginForm(r.studio, "clock")
	f.params["position"].entry.SetText("middle")
	if !f.params["position"].msg.Visible() || !f.form.save.Disabled() {
		t.Fatal("a bad position was accepted")
	}
	f.params["position"].entry.SetText("bottom-left")
	f.show()
	f.submit()
	r.await("SetPlugins with the new position", func() bool {
		return strings.Contains(r.master.called("SetPlugins"), `value:"bottom-left"`)
	})
	test.Tap(r.studio.plugins.rows[1].unload)
	r.await("watermark unloaded", func() bool { return len(r.studio.status.GetPluginList()) == 1 })
}

func TestReconnectsAndSaysSo(t *testing.T) {
	r := newRig(t)
	if !strings.HasPrefix(r.studio.conn.Text, "Connected") {
		t.Fatalf("connection line %q", r.studio.conn.Text)
	}
	addr := r.addr
	r.srv.Stop()
	r.await("the loss shown", func() bool {
		return strings.Contains(r.studio.conn.Text, "reconnecting") && strings.Contains(r.studio.Title(), "reconnecting")
	})
	if !r.studio.live.goLive.Disabled() {
		t.Fatal("Go Live stays enabled with no engine")
	}
	// The engine comes back on the same address.
	srv := listenAgain(t, addr, r.master)
	defer srv.Stop()
	r.await("reconnected", func() bool { return strings.HasPrefix(r.studio.conn.Text, "Reconnected") })
	if r.studio.live.goLive.Disabled() {
		t.Fatal("Go Live disabled after reconnecting")
	}
}

func TestPreviewShowsSnapshots(t *testing.T) {
	r := newRig(t, func(o *Options) { o.PreviewEvery = 20 * time.Millisecond })
	r.await("a picture", func() bool { return r.studio.preview.img.Image.Bounds().Dx() == 16 && !r.studio.preview.note.Visible() })
}

func TestLogLinesAndStats(t *testing.T) {
	r := newRig(t)
	r.await("the log line", func() bool { return len(r.studio.logs.lines) > 0 && r.studio.logs.lines[0] == "master running" })
	base := time.Now()
	for i := uint64(1); i <= 3; i++ {
		r.master.setAt(base.Add(time.Duration(i)*time.Second), func(st *pb.MasterStatus) {
			st.Encoder.EncodedFrames, st.Encoder.SkippedFrames = 30*i, 2
			st.CpuTicks = 50 * i // half a core, as the master measures it
			st.Destinations = []*pb.DestinationStatus{{State: "live", BytesSent: 500_000 * i, FramesDropped: 1}}
		})
		r.await("the event", func() bool { return r.studio.status.GetEncoder().GetEncodedFrames() == 30*i })
	}
	b := r.studio.stats
	if b.fps.Text != "30.0 fps" || b.kbps.Text != "4000 kbit/s out" || b.skipped.Text != "2 skipped" ||
		b.dropped.Text != "1 dropped" || b.cpu.Text != "CPU 50%" {
		t.Fatalf("stats: %q %q %q %q %q", b.fps.Text, b.kbps.Text, b.skipped.Text, b.dropped.Text, b.cpu.Text)
	}
}
