package encoder

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/codec"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// A bitrate the encoder refuses is not recorded: status keeps showing the
// bitrate in effect and the last revision really applied, so the master
// never believes the refused one is live; a good bitrate after it applies.
func TestRefusedBitrateIsNotRecorded(t *testing.T) {
	_, srv := returnPath(t)
	s := New()
	ctx := context.Background()
	cfg := &pb.EncoderConfig{Revision: 1, Source: "pattern", Width: 320, Height: 180, Fps: 30, BitrateKbps: 500,
		KeyframeSeconds: 2, Backend: codec.BackendX264, Preset: "ultrafast", ReturnUrl: srv.PublishURL("program")}
	if _, err := s.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	defer s.Configure(ctx, &pb.EncoderConfig{}) // stops the pipeline
	testpeer.Await(t, 20*time.Second, "frames encoded", func() bool {
		st, _ := s.Status(ctx, nil)
		return st.GetEncodedFrames() > 0
	})

	cfg.Revision, cfg.BitrateKbps = 2, 600000
	_, err := s.Configure(ctx, cfg)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "600000 kbit/s is outside 100..100000") {
		t.Fatalf("600000 kbit/s: %v, want it refused with the range", err)
	}
	st, _ := s.Status(ctx, nil)
	if st.GetConfig().GetBitrateKbps() != 500 || st.GetAppliedRevision() != 1 {
		t.Fatalf("after the refusal status shows %d kbit/s at revision %d, want 500 at 1",
			st.GetConfig().GetBitrateKbps(), st.GetAppliedRevision())
	}

	cfg.Revision, cfg.BitrateKbps = 3, 800
	if st, err = s.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if st.GetConfig().GetBitrateKbps() != 800 || st.GetAppliedRevision() != 3 || st.GetEncodedFrames() == 0 {
		t.Fatalf("after 800 kbit/s: %d kbit/s at revision %d, %d frames; want 800 at 3, the same pipeline",
			st.GetConfig().GetBitrateKbps(), st.GetAppliedRevision(), st.GetEncodedFrames())
	}
}

// A spare stands by silent: its codec is open but nothing reaches the
// master and no frame is captured, until it is promoted; then it publishes
// with the settings of the promotion, a bitrate changed meanwhile included.
func TestSpareIsSilentUntilPromoted(t *testing.T) {
	got, srv := returnPath(t)
	s := New()
	ctx := context.Background()
	cfg := &pb.EncoderConfig{Revision: 1, Source: "pattern", Width: 320, Height: 180, Fps: 30, BitrateKbps: 500,
		KeyframeSeconds: 2, Backend: codec.BackendAuto, ActiveBackend: codec.BackendX264, Preset: "ultrafast",
		ReturnUrl: srv.PublishURL("program"), Standby: true}
	st, err := s.Configure(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Configure(ctx, &pb.EncoderConfig{})
	if !st.GetStandby() || st.GetCodecDeferred() || st.GetBackend() != codec.BackendX264 || st.GetError() != "" {
		t.Fatalf("spare: standby %v, codec deferred %v, backend %q, error %q; want standing by with libx264 open",
			st.GetStandby(), st.GetCodecDeferred(), st.GetBackend(), st.GetError())
	}
	cfg.Revision, cfg.BitrateKbps = 2, 700
	if st, err = s.Configure(ctx, cfg); err != nil || !st.GetStandby() {
		t.Fatalf("bitrate change on the spare: standby %v, err %v", st.GetStandby(), err)
	}
	if st.GetCapturedFrames() != 0 || len(got.get("program").pts) != 0 {
		t.Fatalf("spare captured %d frames and published %d, want none", st.GetCapturedFrames(), len(got.get("program").pts))
	}

	cfg.Revision, cfg.Standby = 3, false
	if st, err = s.Configure(ctx, cfg); err != nil || st.GetStandby() {
		t.Fatalf("promotion: standby %v, err %v", st.GetStandby(), err)
	}
	testpeer.Await(t, 20*time.Second, "the promoted spare's frames at the master", func() bool {
		return len(got.get("program").pts) > 0
	})
	st, _ = s.Status(ctx, nil)
	if st.GetConfig().GetBitrateKbps() != 700 || st.GetAppliedRevision() != 3 {
		t.Fatalf("promoted at %d kbit/s revision %d, want 700 at 3", st.GetConfig().GetBitrateKbps(), st.GetAppliedRevision())
	}
}

// With a hardware backend a spare leaves its codec closed until promoted:
// hardware encoders limit concurrent sessions. libx264 opens at once.
func TestSpareOpensOnlySoftwareCodecs(t *testing.T) {
	for _, c := range []struct {
		backend, active string
		opens           bool
	}{
		{codec.BackendX264, "", true},
		{codec.BackendAuto, codec.BackendX264, true},
		{codec.BackendAuto, codec.BackendNVENC, false},
		{codec.BackendAuto, "", false},
		{codec.BackendVAAPI, codec.BackendVAAPI, false},
		{codec.BackendQSV, codec.BackendX264, false},
	} {
		cfg := &pb.EncoderConfig{Backend: c.backend, ActiveBackend: c.active, Standby: true}
		if got := spareOpensCodec(cfg); got != c.opens {
			t.Errorf("backend %q, active %q: spare opens its codec %v, want %v", c.backend, c.active, got, c.opens)
		}
	}
}
