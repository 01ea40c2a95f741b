package output

import (
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

// A short stream key is masked where it stands in a URL and nowhere else,
// so messages stay readable and do not show the key by their damage; a
// long one is masked wherever a server repeats it.
func TestMaskText(t *testing.T) {
	for _, tc := range []struct{ key, in, want string }{
		{"s", "createStream: server closed the connection", "createStream: server closed the connection"},
		{"s", "publish to rtmp://host/lives/s: refused", "publish to rtmp://host/lives/****: refused"},
		{"s?sig=abc", "RTMPS://host/app/s?sig=abc failed", "RTMPS://host/app/****?sig=**** failed"},
		{"sk_live_0123456789", `stream "sk_live_0123456789" not accepted`, `stream "sk****" not accepted`},
		{"sk_live_0123456789?bandwidthtest=true", "key sk_live_0123456789 unknown", "key sk**** unknown"},
		{"sk_live_0123456789", "(rtmp://u:pw@host/app/sk_live_0123456789)", "(rtmp://u:****@host/app/sk****)"},
	} {
		if got := MaskText(tc.in, tc.key); got != tc.want {
			t.Errorf("key %q: MaskText(%q) = %q, want %q", tc.key, tc.in, got, tc.want)
		}
	}
}

// A live server's refusal reads the same whatever the key: with the key
// "s", "server closed the connection" stays whole.
func TestRefusalReadableWithShortKey(t *testing.T) {
	ngx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	for _, key := range []string{"s", "sk_live_0123456789"} {
		start := time.Now()
		p, err := NewPublisher(Config{URL: ngx.URL("nosuchapp", key), Timeout: 2 * time.Second, Log: testpeer.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		err, _ = awaitFailure(t, p, start)
		p.Close()
		want := ngx.Addr() + `/nosuchapp/` + MaskKey(key) + `: connect to application "nosuchapp": server closed the connection (application rejected?)`
		if !strings.HasSuffix(err.Error(), want) {
			t.Errorf("key %q: error %q, want it to end %q", key, err, want)
		}
	}
}
