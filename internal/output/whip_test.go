package output

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/internal/testpeer"
)

// startWHIP starts a WHIP destination that retries quickly, as the
// master's do.
func startWHIP(t *testing.T, url string) *Destination {
	t.Helper()
	d := StartDestination(DestinationConfig{URL: url, FirstRetry: 100 * time.Millisecond, MaxRetry: 500 * time.Millisecond, Log: testpeer.Logger(t)})
	t.Cleanup(d.Close)
	return d
}

// The WHIP endpoint (testpeer.WHIPServer: its own HTTP handler and
// receiving pion peer, see there why that is independent enough) receives
// the pictures, FFmpeg decodes them, and stopping the destination DELETEs
// the session's resource.
func TestWHIPToPionPeer(t *testing.T) {
	t.Parallel()
	const token = "whip-bearer-secret"
	clip := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 5}), 30)
	srv := testpeer.StartWHIPServer(t, token)
	d := startWHIP(t, "whip+"+srv.URL+"?token="+token)
	testpeer.Await(t, 20*time.Second, "WHIP destination live", func() bool { return d.Status().State == DestLive })
	d.NewSource(stream.Tracks{})
	feedDest(d, clip, 0)
	st := d.Status()
	if st.Link.State != "connected" || st.Link.BitrateKbps <= 0 {
		t.Errorf("status has no WebRTC state or rate: %+v", st.Link)
	}
	if strings.Contains(st.URL, token) {
		t.Errorf("status shows the token: %s", st.URL)
	}
	d.Close()
	if n := srv.Deletes(); n != 1 {
		t.Fatalf("%d DELETEs of the session after stop, want 1", n)
	}
	ss := srv.Sessions()
	if len(ss) != 1 {
		t.Fatalf("%d sessions, want 1", len(ss))
	}
	dec := testpeer.DecodeFile(t, ss[0].Video)
	t.Logf("the WHIP receiver decoded %d of %d pictures", dec.Frames, len(clip))
	if dec.Codec != "h264" || dec.Frames*100 < len(clip)*95 {
		t.Fatalf("the WHIP receiver decoded %+v of %d pictures", dec, len(clip))
	}
}

// A server that answers with an HTTP error or with junk instead of SDP
// fails the session with the reason, and the destination tries again on
// its schedule until the server works.
func TestWHIPServerErrors(t *testing.T) {
	t.Parallel()
	const token = "whip-bearer-secret"
	srv := testpeer.StartWHIPServer(t, token)
	srv.SetFail(http.StatusInternalServerError, "ingest overloaded\n")
	d := startWHIP(t, "whip+"+srv.URL+"?token="+token)
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{http.StatusInternalServerError, "ingest overloaded\n", "HTTP 500 Internal Server Error: ingest overloaded"},
		{http.StatusCreated, "<html>hello</html>", "not a usable SDP answer: not SDP"},
	} {
		srv.SetFail(tc.status, tc.body)
		before := srv.Offers()
		testpeer.Await(t, 20*time.Second, "the reason in status: "+tc.want, func() bool {
			st := d.Status()
			return st.Err != nil && strings.Contains(st.Err.Error(), tc.want) && srv.Offers() >= before+2
		})
		if st := d.Status(); strings.Contains(st.Err.Error(), token) {
			t.Errorf("the error shows the token: %v", st.Err)
		}
	}
	srv.SetFail(0, "")
	testpeer.Await(t, 20*time.Second, "live once the server works", func() bool { return d.Status().State == DestLive })
}

func TestWHIPWrongToken(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartWHIPServer(t, "the-right-token")
	d := startWHIP(t, "whip+"+srv.URL+"?token=a-wrong-token")
	testpeer.Await(t, 20*time.Second, "the refused token reported", func() bool {
		st := d.Status()
		return st.Err != nil && strings.Contains(st.Err.Error(), "refused the token")
	})
	if st := d.Status(); strings.Contains(st.Err.Error(), "a-wrong-token") {
		t.Errorf("the error shows the token: %v", st.Err)
	}
}
