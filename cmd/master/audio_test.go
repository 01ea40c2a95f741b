package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// The sound is steered through the Control API and `master ctl audio`:
// every change is checked whole first (a refused one changes nothing, in
// the master or the file), an accepted one is saved and reaches the
// encoder; a new device name is checked against the encoder's list when
// the encoder can give one.
func TestAudioSteeredOverAPIAndCtl(t *testing.T) {
	t.Parallel()
	pulse := testpeer.StartPulse(t)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	m := startMaster(t, []string{"PULSE_SERVER=" + pulse.Server}, "-config", cfg,
		"-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180")
	m.AwaitConfigured(15*time.Second, "encoder")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	want := &pb.AudioSettings{BitrateKbps: 160, Sources: []*pb.AudioSource{{Source: "auto"}}}
	if got := m.Status().GetAudioSettings(); !proto.Equal(got, want) {
		t.Fatalf("default audio %v, want %v", got, want)
	}
	for _, c := range []struct {
		set  *pb.AudioSettings
		want string
	}{
		{&pb.AudioSettings{VolumeDb: math.NaN()}, "audio.volume_db: volume NaN dB: want a number of dB from -60 to +20"},
		{&pb.AudioSettings{Sources: []*pb.AudioSource{{Source: "mic", OffsetMs: 2500}}}, "audio.sources.0.offset_ms: sync offset 2500 ms: want -2000 to 2000 ms"},
		{&pb.AudioSettings{Sources: []*pb.AudioSource{{Source: "mic"}, {Source: "desktop", VolumeDb: 21}}}, "audio.sources.1.volume_db: volume 21 dB"},
		{&pb.AudioSettings{Sources: []*pb.AudioSource{{Source: "webcam"}}}, `audio.sources.0.source: audio source "webcam": want auto, mic, desktop, none, pulse:NAME, tone:FREQ or layer:NAME`},
		{&pb.AudioSettings{Sources: []*pb.AudioSource{{Source: "mic"}, {Source: "mic"}}}, `audio source "mic" is listed twice`},
		{&pb.AudioSettings{BitrateKbps: 500}, "audio.bitrate_kbps: audio bitrate 500 kbit/s: want 64 to 320"},
	} {
		_, err := m.Client.SetAudio(ctx, c.set)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SetAudio(%v): %v; want a refusal saying %q", c.set, err, c.want)
		}
	}
	if got := m.Status().GetAudioSettings(); !proto.Equal(got, want) {
		t.Fatalf("after refusals the audio is %v, want %v as before", got, want)
	}
	if _, err := os.Stat(cfg); err == nil {
		t.Fatalf("refused changes wrote the config file:\n%s", readFile(t, cfg))
	}

	// Each ctl change is a read-modify-write of the whole setting.
	here := t.TempDir()
	for _, args := range [][]string{
		{"audio", "add", "tone:1000"},
		{"audio", "volume", "tone:1000", "-6"},
		{"audio", "mute", "tone:1000"},
		{"audio", "offset", "tone:1000", "40"},
		{"audio", "volume", "master", "-2"},
		{"audio", "bitrate", "96"},
		{"audio", "rm", "auto"},
	} {
		if out, code := ctlIn(t, m, here, "", args...); code != 0 {
			t.Fatalf("ctl %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
	}
	want = &pb.AudioSettings{BitrateKbps: 96, VolumeDb: -2,
		Sources: []*pb.AudioSource{{Source: "tone:1000", VolumeDb: -6, Muted: true, OffsetMs: 40}}}
	if got := m.Status().GetAudioSettings(); !proto.Equal(got, want) {
		t.Fatalf("after ctl changes the audio is %v, want %v", got, want)
	}
	file := readFile(t, cfg)
	for _, s := range []string{"bitrate_kbps: 96", "volume_db: -2", "source: tone:1000", "volume_db: -6", "muted: true", "offset_ms: 40"} {
		if !strings.Contains(file, s) {
			t.Errorf("config file lacks %q:\n%s", s, file)
		}
	}
	m.Await("the encoder configured with the new audio", 15*time.Second, func() bool {
		st := m.Status()
		return child(st, "encoder").GetConfiguredRevision() == st.GetRevision()
	})
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"audio", "volume", "tone:1000", "30"}, 1, "volume 30 dB: want a number of dB from -60 to +20"},
		{[]string{"audio", "volume", "nosuch", "1"}, 1, `no audio source "nosuch" (sources: tone:1000; 'master' is the mix)`},
		{[]string{"audio", "mute", "master"}, 1, `no audio source "master"`},
		{[]string{"audio", "offset", "tone:1000", "4294967336"}, 2, "sync offset 4294967336 ms: want -2000 to 2000 ms"},
		{[]string{"audio", "add", "tone:1000"}, 1, `audio source "tone:1000" is listed twice`},
		{[]string{"audio", "add", "tone:99999"}, 1, "want tone:FREQ with FREQ in Hz from 1 to 20000"},
		{[]string{"audio", "rm", "tone:1000"}, 1, "the only audio source"},
		{[]string{"audio", "bitrate", "4294967456"}, 2, "want 64 to 320"},
		{[]string{"audio", "volume", "tone:1000"}, 2, "audio volume takes 2 argument(s)"},
		{[]string{"audio", "louder"}, 2, `unknown audio command "louder"`},
	} {
		out, code := ctlIn(t, m, here, "", c.args...)
		if code != c.code || !strings.Contains(out, c.want) || strings.Contains(out, "master pid") {
			t.Errorf("ctl %s: exit %d, output %q; want exit %d saying %q", strings.Join(c.args, " "), code, out, c.code, c.want)
		}
	}
	if got := m.Status().GetAudioSettings(); !proto.Equal(got, want) {
		t.Fatalf("after refused ctl changes the audio is %v, want %v", got, want)
	}
	out, code := ctlIn(t, m, here, "", "audio")
	if code != 0 || !strings.Contains(out, "AAC 96 kbit/s, master volume -2 dB") || !strings.Contains(out, "tone:1000  -6 dB   MUTED  40 ms") {
		t.Errorf("ctl audio: exit %d\n%s", code, out)
	}

	// A device name the encoder does not have is refused with the list,
	// when the encoder can list devices; otherwise the name stands.
	bad := &pb.AudioSettings{Sources: []*pb.AudioSource{{Source: "pulse:no_such_device"}}}
	_, listErr := m.Client.AudioDevices(ctx, &pb.Empty{})
	_, err := m.Client.SetAudio(ctx, bad)
	switch status.Code(listErr) {
	case codes.Unimplemented:
		if err != nil {
			t.Errorf("an encoder without a device list: the name should stand, got %v", err)
		}
	case codes.OK:
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `no audio device named "no_such_device"`) ||
			!strings.Contains(err.Error(), "pulse:studio.monitor") {
			t.Errorf("unknown device: %v; want a refusal listing pulse:studio.monitor", err)
		}
		out, code := ctlIn(t, m, here, "", "audio", "devices")
		if code != 0 || !strings.Contains(out, "pulse:studio.monitor") {
			t.Errorf("ctl audio devices: exit %d\n%s", code, out)
		}
	default:
		t.Errorf("AudioDevices: %v", listErr)
	}
}

// While the encoder mixes, WatchEvents carries the mix's meters, and they
// come back after the encoder is killed and restarted. Without an encoder
// that has audio there is nothing to watch.
func TestAudioLevelsInEventsAcrossEncoderRestart(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("audio:\n  sources:\n    - {source: \"tone:1000\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, nil, "-config", cfg, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180")
	first := m.AwaitConfigured(15*time.Second, "encoder")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := m.Client.AudioDevices(ctx, &pb.Empty{}); status.Code(err) == codes.Unimplemented {
		t.Skip("this encoder has no audio yet: no meters to relay")
	}
	events, err := m.Client.WatchEvents(ctx, &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// awaitLevels waits for a reading the encoder took at or after since.
	awaitLevels := func(what string, since time.Time) {
		t.Helper()
		for {
			ev, err := events.Recv()
			if err != nil {
				t.Fatalf("%s: events ended: %v", what, err)
			}
			if l := ev.GetAudioLevels(); len(l.GetPeakDbfs()) == 2 && l.GetUnixMs() >= since.UnixMilli() {
				return
			}
		}
	}
	awaitLevels("meters", time.Time{})
	pid := child(first, "encoder").GetPid()
	if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	m.Await("a new encoder", 15*time.Second, func() bool {
		c := child(m.Status(), "encoder")
		return c.GetPid() != pid && c.GetState() == "running"
	})
	awaitLevels("meters from the new encoder", time.Now())
	if s := m.Status().GetAudio().GetStrips(); len(s) != 1 || s[0].GetName() != "tone:1000" {
		t.Errorf("status strips %v, want the tone", s)
	}
}
