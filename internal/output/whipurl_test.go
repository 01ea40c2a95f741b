package output

import (
	"strings"
	"testing"
)

func TestParseWHIP(t *testing.T) {
	for _, tc := range []struct {
		url, endpoint, token, err string
	}{
		{url: "whip+https://ingest.example.com/whip/live?token=secrettoken1", endpoint: "https://ingest.example.com/whip/live", token: "secrettoken1"},
		{url: "whip+http://127.0.0.1:8080/whip", endpoint: "http://127.0.0.1:8080/whip"},
		{url: "WHIP+HTTPS://[::1]:8443", endpoint: "https://[::1]:8443/"},
		{url: "whip://host/whip", err: "want whip+https://"},
		{url: "whip+ftp://host/whip", err: "want whip+https://"},
		{url: "whip+https:///whip?token=secrettoken1", err: "no host"},
		{url: "whip+https://host:99999/whip", err: "not 1 to 65535"},
		{url: "whip+https://user:secretpass1@host/whip", err: "no user or fragment"},
		{url: "whip+https://host/whip#secrettoken1", err: "no user or fragment"},
		{url: "whip+https://host/whip?token=", err: "1 to 4096 characters"},
		{url: "whip+https://host/whip?token=a&token=secrettoken1", err: "given 2 times"},
		{url: "whip+https://host/whip?bearer=secrettoken1", err: `unknown option "bearer"`},
		{url: "whip+https://host/whip?token=%zzsecrettoken", err: "malformed query"},
	} {
		got, err := parseWHIP(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.url, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: error shows a secret: %v", tc.url, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if got.endpoint != tc.endpoint || got.token != tc.token {
			t.Errorf("%s: got %+v", tc.url, got)
		}
		if strings.Contains(got.masked, "secret") {
			t.Errorf("%s: masked as %s", tc.url, got.masked)
		}
		if err := CheckURL(tc.url); err != nil {
			t.Errorf("CheckURL(%s): %v", tc.url, err)
		}
	}
}

func TestWHIPKeyApart(t *testing.T) {
	whole := "whip+https://h/whip/live?token=secrettoken1"
	server, key := SplitKey(whole)
	if server != "whip+https://h/whip/live" || key != "token=secrettoken1" {
		t.Fatalf("SplitKey: %q %q", server, key)
	}
	joined, err := DestinationURL("custom", server, key)
	if err != nil || !SameURL(joined, whole) {
		t.Fatalf("DestinationURL: %q %v", joined, err)
	}
	if SameURL(joined, "whip+https://h/whip/live?token=othertoken11") {
		t.Error("SameURL ignores the token")
	}
}

// FuzzParseWHIP: no input panics the parser; neither the error nor the
// masked URL ever shows the token, and what it accepts is an http(s)
// endpoint with a host.
func FuzzParseWHIP(f *testing.F) {
	f.Add("whip+https://host/whip?token=secrettoken1")
	f.Add("whip+http://[::1]:1/")
	f.Add("whip+https://h/w?token=%zz")
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := parseWHIP(raw)
		if err == nil {
			if !strings.HasPrefix(got.endpoint, "https://") && !strings.HasPrefix(got.endpoint, "http://") || strings.Contains(got.endpoint, "?") {
				t.Fatalf("%q accepted with endpoint %q", raw, got.endpoint)
			}
			if len(got.token) >= shortKey && strings.Contains(got.masked, got.token) {
				t.Fatalf("%q: masked %q shows the token", raw, got.masked)
			}
		}
		if err != nil && strings.Contains(raw, "token=") {
			_, v, _ := strings.Cut(raw, "token=")
			v, _, _ = strings.Cut(v, "&")
			if len(v) >= shortKey && !strings.ContainsAny(v, "%+#?/:@[]") && strings.Contains(err.Error(), v) {
				t.Fatalf("%q: error %v shows the token", raw, err)
			}
		}
	})
}

// FuzzCheckAnswer: no server answer panics the check, and one it accepts
// has an accepted video section.
func FuzzCheckAnswer(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AA\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:x\r\n"))
	f.Add([]byte("not sdp at all"))
	f.Add([]byte("v=0\r\nm=audio 0 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if checkAnswer(body) == nil && !strings.Contains(string(body), "m=video") {
			t.Fatalf("accepted an answer with no video: %q", body)
		}
	})
}

func TestCheckAnswer(t *testing.T) {
	for _, tc := range []struct{ body, err string }{
		{"<html>502 Bad Gateway</html>", "not SDP"},
		{"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:x\r\na=fingerprint:sha-256 AA\r\n", "accepted no video"},
		{"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\n", "accepted no video"},
		{"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=fingerprint:sha-256 AA\r\n", "no ICE credentials"},
		{"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:x\r\n", "no DTLS fingerprint"},
		{"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AA\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:x\r\n", ""},
	} {
		err := checkAnswer([]byte(tc.body))
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: %v, want %q", tc.body, err, tc.err)
		}
	}
}
