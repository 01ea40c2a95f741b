package output

import (
	"strings"
	"testing"
)

func TestParseDestination(t *testing.T) {
	for _, tc := range []struct {
		url                        string
		tls                        bool
		addr, app, key, tcURL, err string
	}{
		{url: "rtmp://live.example.com/app/abcdef123", addr: "live.example.com:1935", app: "app", key: "abcdef123", tcURL: "rtmp://live.example.com/app"},
		{url: "rtmps://ingest.example.com:443/live2/sk-12345678", tls: true, addr: "ingest.example.com:443", app: "live2", key: "sk-12345678", tcURL: "rtmps://ingest.example.com:443/live2"},
		{url: "rtmps://h/app", err: "needs an application and a stream key"},
		{url: "rtmp://127.0.0.1:1936/app/inst/secretkey?bandwidthtest=true", addr: "127.0.0.1:1936", app: "app/inst", key: "secretkey?bandwidthtest=true", tcURL: "rtmp://127.0.0.1:1936/app/inst"},
		{url: "http://example.com/live/secretkey", err: `unsupported scheme "http"`},
		{url: "rtmp:///live/secretkey", err: "no host"},
	} {
		d, err := parseDestination(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.url, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "secretkey") {
				t.Errorf("%s: error shows the key: %v", tc.url, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if d.tls != tc.tls || d.addr != tc.addr || d.app != tc.app || d.key != tc.key || d.tcURL != tc.tcURL {
			t.Errorf("%s: got %+v", tc.url, d)
		}
	}
}

func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"rtmp://host/live/abcdef123":                  "rtmp://host/live/ab****",
		"rtmps://host:443/app/inst/live_1234_XyZ?x=1": "rtmps://host:443/app/inst/li****?x=****",
		"rtmp://host/live/key":                        "rtmp://host/live/****",
		"rtmp://user:pw@host/live/abcdefgh":           "rtmp://user:****@host/live/ab****",
		"rtmp://host":                                 "rtmp://host",
		"http://x/y/zzzzzzzzzz/":                      "http://x/y/zz****",
	} {
		if got := MaskURL(in); got != want {
			t.Errorf("MaskURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDestinationURL(t *testing.T) {
	for _, tc := range []struct{ service, server, key, want, err string }{
		{"twitch", "", "live_1_abc", "rtmps://live.twitch.tv:443/app/live_1_abc", ""},
		{"youtube", "ignored", "k", "rtmps://a.rtmps.youtube.com:443/live2/k", ""},
		{"facebook", "", "", "", "facebook needs a stream key"},
		{"custom", "rtmp://host/live/", "k", "rtmp://host/live/k", ""},
		{"", "rtmp://host/live/k", "", "rtmp://host/live/k", ""},
		{"mixer", "", "k", "", "unknown service"},
		{"custom", "", "k", "", "no URL"},
	} {
		got, err := DestinationURL(tc.service, tc.server, tc.key)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q %q %q: got %q, %v; want %q, %q", tc.service, tc.server, tc.key, got, err, tc.want, tc.err)
		}
	}
}
