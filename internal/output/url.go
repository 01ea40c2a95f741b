package output

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// destination is a parsed rtmp:// or rtmps:// publish URL.
type destination struct {
	tls    bool
	addr   string // host:port to dial
	host   string // for TLS server name
	app    string // everything between host and the stream key
	key    string // last path element, with any query (Twitch's ?bandwidthtest)
	tcURL  string // scheme://host[:port]/app, sent in connect
	masked string // the URL as it may be shown
}

// CheckURL refuses a destination URL that cannot be published to, before
// it is saved: anything but rtmp://, rtmps://, srt:// or whip+https://, no
// host, or SRT or WHIP options that do not fit. The key may be missing (it can come from the
// key store); errors never contain it.
func CheckURL(raw string) error {
	switch Protocol(raw) {
	case "srt":
		_, err := parseSRT(raw)
		return err
	case "whip":
		_, err := parseWHIP(raw)
		return err
	}
	_, err := parseServer(raw)
	return err
}

// Protocol is what a destination URL publishes with, by its scheme: "rtmp"
// (rtmp:// and rtmps://), "srt" or "whip" (whip+https://, whip+http://); ""
// for anything else.
func Protocol(raw string) string {
	scheme, _, _ := strings.Cut(raw, "://")
	switch strings.ToLower(scheme) {
	case "rtmp", "rtmps":
		return "rtmp"
	case "srt":
		return "srt"
	case "whip+https", "whip+http":
		return "whip"
	}
	return ""
}

func parseServer(raw string) (*url.URL, error) {
	masked := MaskURL(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid destination URL %s", masked)
	}
	if s := strings.ToLower(u.Scheme); s != "rtmp" && s != "rtmps" {
		return nil, fmt.Errorf("unsupported scheme %q in %s: want rtmp://, rtmps://, srt:// or whip+https://", u.Scheme, masked)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("no host in %s", masked)
	}
	return u, nil
}

// parseDestination splits a publish URL; errors never contain the key.
func parseDestination(raw string) (destination, error) {
	u, err := parseServer(raw)
	if err != nil {
		return destination{}, err
	}
	d := destination{masked: MaskURL(raw), host: u.Hostname()}
	port := "1935"
	if strings.EqualFold(u.Scheme, "rtmps") {
		d.tls, port = true, "443"
	}
	if u.Port() != "" {
		port = u.Port()
	}
	d.addr = net.JoinHostPort(d.host, port)
	path := strings.Trim(u.Path, "/")
	i := strings.LastIndex(path, "/")
	if i <= 0 || i == len(path)-1 {
		return destination{}, fmt.Errorf("%s needs an application and a stream key: rtmp://host/app/key", d.masked)
	}
	d.app, d.key = path[:i], path[i+1:]
	if u.RawQuery != "" {
		d.key += "?" + u.RawQuery
	}
	d.tcURL = strings.ToLower(u.Scheme) + "://" + u.Host + "/" + d.app
	return d, nil
}

// MaskURL hides the stream key, any password and query values of a
// destination URL so it can be logged or shown: rtmp://host/live/ab****.
func MaskURL(raw string) string {
	rest := raw
	scheme := ""
	if i := strings.Index(rest, "://"); i >= 0 {
		scheme, rest = rest[:i+3], rest[i+3:]
	} else if strings.ContainsAny(rest, "/?=@") {
		return "****" // not a URL: where a secret would stand is anyone's guess
	}
	// The query first: an SRT URL has one and no path.
	rest, query, hasQuery := strings.Cut(rest, "?")
	host, path, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(host, "@"); at >= 0 {
		user, _, _ := strings.Cut(host[:at], ":")
		host = user + ":****@" + host[at+1:]
	}
	if strings.ContainsAny(host, "=&;") {
		host = "****" // no host: something else stands there
	}
	masked := scheme + host
	if path = strings.TrimRight(path, "/"); path != "" {
		dir, key := "", path
		if i := strings.LastIndex(path, "/"); i >= 0 {
			dir, key = path[:i+1], path[i+1:]
		}
		masked += "/" + dir + MaskKey(key)
	}
	if hasQuery {
		params := strings.Split(query, "&")
		for i, p := range params {
			name, _, _ := strings.Cut(p, "=")
			params[i] = name + "=****"
		}
		masked += "?" + strings.Join(params, "&")
	}
	return masked
}

// shortKey is the length under which a stream key is masked whole, and
// masked only where it stands in a URL: a shorter key could be any common
// substring ("s" is in "server"), so replacing it everywhere would garble
// messages and show the key by the pattern of the damage.
const shortKey = 8

// MaskKey keeps the first two characters of a stream key, when it is long
// enough that they give little away.
func MaskKey(key string) string {
	if len(key) < shortKey {
		return "****"
	}
	return key[:2] + "****"
}

// rtmpURL finds the destination URLs (RTMP, SRT, WHIP and the endpoint a
// WHIP URL names) in a message.
var rtmpURL = regexp.MustCompile(`(?i)\b(rtmps?|srt|(whip\+)?https?)://[^\s"'<>]+`)

// MaskText hides a stream key in a message from a server or a library: in
// every RTMP URL by its place (MaskURL), and, unless the key is short,
// wherever a server repeats it bare. key may end in the URL's query.
func MaskText(text, key string) string {
	text = rtmpURL.ReplaceAllStringFunc(text, func(u string) string {
		url := strings.TrimRight(u, ".,;:)]}") // punctuation after a URL
		return MaskURL(url) + u[len(url):]
	})
	name, _, _ := strings.Cut(key, "?")
	for _, k := range []string{key, name} {
		if len(k) >= shortKey {
			text = strings.ReplaceAll(text, k, MaskKey(k))
		}
	}
	return text
}
