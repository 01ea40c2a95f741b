package output

import (
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

// RTMPS through a TLS terminator in front of nginx, as big ingests run it.
func TestRTMPS(t *testing.T) {
	t.Parallel()
	ngx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	proxy := testpeer.StartTLSProxy(t, ngx.Addr())
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 2}), 30)
	reader := testpeer.StartReader(t, ngx.URL("live", "tls1"), testpeer.ReaderOptions{})
	testpeer.Await(t, 10*time.Second, "the reader to ask nginx for the stream", func() bool { return ngx.Plays("tls1") == 1 })

	// The proxy's certificate is self-signed: with the system roots it fails.
	untrusted, err := NewPublisher(Config{URL: "rtmps://" + proxy.Addr + "/live/" + secretKey, Log: testpeer.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	err, _ = awaitFailure(t, untrusted, time.Now())
	if !strings.Contains(err.Error(), "TLS handshake") || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	untrusted.Close()

	p := startPublisher(t, Config{URL: "rtmps://" + proxy.Addr + "/live/tls1", RootCAs: proxy.RootCAs})
	feed(p, aus, 0, time.Now(), true)
	checkFrames(t, reader.WaitFrames(len(aus), 3*time.Second, 20*time.Second), len(aus))
}
