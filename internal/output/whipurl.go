package output

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// whipTarget is a parsed whip+https:// destination.
type whipTarget struct {
	endpoint string // the https:// URL to POST the offer to, without the token
	token    string // secret: the bearer token, from the URL's password
	masked   string
}

const whipWant = "want whip+https://host/path (the bearer token from the key store)"

// parseWHIP checks a whip+https:// URL. The bearer token rides in the
// URL's password (whip+https://:TOKEN@host/path), where the key store puts
// it; whip+http:// is for loopback only, since the token would cross the
// network in the clear. Errors never contain the token.
func parseWHIP(raw string) (whipTarget, error) {
	t := whipTarget{masked: MaskURL(raw)}
	u, err := url.Parse(raw)
	if err != nil {
		return whipTarget{}, fmt.Errorf("invalid WHIP URL %s: %s", t.masked, whipWant)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "whip+https" && scheme != "whip+http" {
		return whipTarget{}, fmt.Errorf("invalid WHIP URL %s: %s", t.masked, whipWant)
	}
	if u.Hostname() == "" || u.Opaque != "" {
		return whipTarget{}, fmt.Errorf("no host in %s: %s", t.masked, whipWant)
	}
	if u.Fragment != "" {
		return whipTarget{}, fmt.Errorf("%s: a WHIP URL has no fragment: %s", t.masked, whipWant)
	}
	if scheme == "whip+http" {
		ip := net.ParseIP(u.Hostname())
		if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return whipTarget{}, fmt.Errorf("%s: whip+http:// sends the token in the clear, so it is for this machine only: use whip+https://", t.masked)
		}
	}
	if u.User != nil {
		t.token, _ = u.User.Password()
		if u.User.Username() != "" {
			return whipTarget{}, fmt.Errorf("%s: a WHIP URL has no user name: the token goes in the key store", t.masked)
		}
	}
	e := *u
	e.Scheme, e.User = strings.TrimPrefix(scheme, "whip+"), nil
	t.endpoint = e.String()
	return t, nil
}
