package encoder

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/codec"
	"github.com/onair-studio/onair/internal/rtsp"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// A bitrate the encoder refuses is not recorded: status keeps showing the
// bitrate in effect and the last revision really applied, so the master
// never believes the refused one is live; a good bitrate after it applies.
func TestRefusedBitrateIsNotRecorded(t *testing.T) {
	srv, err := rtsp.NewServer("127.0.0.1:0", rtsp.RandomCredentials("encoder"), rtsp.RandomCredentials("monitor"),
		&sink{paths: map[string]*received{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
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
	_, err = s.Configure(ctx, cfg)
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
