package output

import (
	"fmt"
	"slices"
	"strings"
)

// Services are the ingest servers of the big platforms, so a streamer needs
// only the stream key. All take RTMPS.
var Services = map[string]string{
	"twitch":   "rtmps://live.twitch.tv:443/app",
	"youtube":  "rtmps://a.rtmps.youtube.com:443/live2",
	"facebook": "rtmps://live-api-s.facebook.com:443/rtmp",
}

// DestinationURL joins a service's server (or a custom server URL) and a
// stream key kept apart from it. For a custom destination with no separate
// key, server is the whole URL, key included.
func DestinationURL(service, server, key string) (string, error) {
	if service != "" && service != "custom" {
		s, ok := Services[service]
		if !ok {
			return "", fmt.Errorf("unknown service %q (want twitch, youtube, facebook or custom)", service)
		}
		server = s
		if key == "" {
			return "", fmt.Errorf("%s needs a stream key", service)
		}
	}
	if server == "" {
		return "", fmt.Errorf("no URL")
	}
	if key == "" {
		return server, nil
	}
	switch Protocol(server) {
	case "srt", "whip":
		// The key is the secret options: streamid=…&passphrase=…, token=…
		sep := "?"
		if strings.Contains(server, "?") {
			sep = "&"
		}
		return server + sep + strings.TrimPrefix(key, "?"), nil
	}
	return strings.TrimRight(server, "/") + "/" + key, nil
}

// SplitKey parts a whole destination URL into its server and its key, the
// way DestinationURL joins them: RTMP's last path element, SRT's streamid
// and passphrase options, WHIP's token. key is "" when it has none.
func SplitKey(raw string) (server, key string) {
	if secrets := secretOptions(raw); secrets != nil {
		base, query, _ := strings.Cut(raw, "?")
		var keep, secret []string
		for _, p := range strings.Split(query, "&") {
			name, _, _ := strings.Cut(p, "=")
			switch {
			case p == "":
			case slices.Contains(secrets, name):
				secret = append(secret, p)
			default:
				keep = append(keep, p)
			}
		}
		if len(keep) > 0 {
			base += "?" + strings.Join(keep, "&")
		}
		return base, strings.Join(secret, "&")
	}
	u, _, _ := strings.Cut(raw, "?")
	u = strings.TrimRight(u, "/")
	scheme, rest, ok := strings.Cut(u, "://")
	first, last := strings.Index(rest, "/"), strings.LastIndex(rest, "/")
	if !ok || first < 0 || last == first {
		return raw, "" // no key in it
	}
	server = scheme + "://" + rest[:last]
	return server, strings.TrimPrefix(raw, server+"/")
}

// secretOptions are the query options of raw's protocol that are secrets;
// nil for a protocol whose key is in the path.
func secretOptions(raw string) []string {
	switch Protocol(raw) {
	case "srt":
		return srtSecrets
	case "whip":
		return whipSecrets
	}
	return nil
}

// SameURL reports whether two destination URLs publish the same way: for
// SRT, whatever the order of options or the escaping of the token.
func SameURL(a, b string) bool {
	if a == b {
		return true
	}
	switch Protocol(a) {
	case "srt":
		x, errX := parseSRT(a)
		y, errY := parseSRT(b)
		x.masked, y.masked = "", ""
		return errX == nil && errY == nil && x == y
	case "whip":
		x, errX := parseWHIP(a)
		y, errY := parseWHIP(b)
		x.masked, y.masked = "", ""
		return errX == nil && errY == nil && x == y
	}
	return false
}
