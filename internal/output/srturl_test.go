package output

import (
	"strings"
	"testing"
	"time"
)

func TestParseSRT(t *testing.T) {
	for _, tc := range []struct {
		url, addr, streamID, pass string
		latency                   time.Duration
		err                       string
	}{
		{url: "srt://ingest.example.com:9000?streamid=live/secretid&passphrase=secretpass1&latency=200", addr: "ingest.example.com:9000", streamID: "live/secretid", pass: "secretpass1", latency: 200 * time.Millisecond},
		{url: "srt://127.0.0.1:9000", addr: "127.0.0.1:9000", latency: 120 * time.Millisecond},
		{url: "srt://[::1]:9000?mode=caller", addr: "[::1]:9000", latency: 120 * time.Millisecond},
		{url: "srt://host?streamid=secretid", err: "needs a port"},
		{url: "srt://host:0", err: "needs a port"},
		{url: "srt://:9000", err: "no host"},
		{url: "srt://host:9000/path", err: "no user, path"},
		{url: "srt://host:9000?passphrase=short", err: "10 to 79 characters"},
		{url: "srt://host:9000?latency=fast", err: "want milliseconds"},
		{url: "srt://host:9000?latency=5", err: "want milliseconds"},
		{url: "srt://host:9000?mode=listener", err: "mode=caller"},
		{url: "srt://host:9000?pbkeylen=16&passphrase=secretpass1", err: `unknown option "pbkeylen"`},
		{url: "srt://host:9000?streamid=a&streamid=secretid", err: "given 2 times"},
		{url: "srt://host:9000?passphrase=%zzsecretpass", err: "malformed query"},
	} {
		got, err := parseSRT(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.url, err, tc.err)
			}
			if err != nil && (strings.Contains(err.Error(), "secret")) {
				t.Errorf("%s: error shows a secret: %v", tc.url, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if got.addr != tc.addr || got.streamID != tc.streamID || got.passphrase != tc.pass || got.latency != tc.latency {
			t.Errorf("%s: got %+v", tc.url, got)
		}
		if strings.Contains(got.masked, "secret") {
			t.Errorf("%s: masked as %s", tc.url, got.masked)
		}
	}
}

func TestSRTKeyApart(t *testing.T) {
	whole := "srt://h:9000?latency=200&streamid=abc12345&passphrase=secretpass1"
	server, key := SplitKey(whole)
	if server != "srt://h:9000?latency=200" || key != "streamid=abc12345&passphrase=secretpass1" {
		t.Fatalf("SplitKey: %q %q", server, key)
	}
	joined, err := DestinationURL("custom", server, key)
	if err != nil || !SameURL(joined, whole) {
		t.Fatalf("DestinationURL: %q %v", joined, err)
	}
	if SameURL(joined, "srt://h:9000?latency=200&streamid=abc12345&passphrase=otherpass11") {
		t.Error("SameURL ignores the passphrase")
	}
}

// FuzzParseSRT: no input panics the parser, and neither the error nor the
// masked URL ever shows the passphrase or the streamid.
func FuzzParseSRT(f *testing.F) {
	f.Add("srt://host:9000?streamid=secretid&passphrase=secretpass1&latency=120")
	f.Add("srt://[::1]:1?mode=caller")
	f.Add("srt://h:9000?passphrase=%zz")
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := parseSRT(raw)
		var secrets []string
		if err == nil {
			secrets = append(secrets, got.passphrase, got.streamID)
			if got.latency < srtMinLatency || got.latency > srtMaxLatency || got.addr == "" {
				t.Fatalf("%q accepted as %+v", raw, got)
			}
		}
		for _, s := range secrets {
			if len(s) < shortKey {
				continue
			}
			if strings.Contains(got.masked, s) {
				t.Fatalf("%q: masked %q shows %q", raw, got.masked, s)
			}
		}
		if err != nil && strings.Contains(raw, "passphrase=") {
			_, v, _ := strings.Cut(raw, "passphrase=")
			v, _, _ = strings.Cut(v, "&")
			if len(v) >= shortKey && !strings.ContainsAny(v, "%+#?/:@[]") && strings.Contains(err.Error(), v) {
				t.Fatalf("%q: error %v shows the passphrase", raw, err)
			}
		}
	})
}
