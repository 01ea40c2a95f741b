package output

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// whipTarget is a parsed whip+https:// (or whip+http://) destination.
type whipTarget struct {
	endpoint string // the https:// or http:// URL the offer is POSTed to
	token    string // secret: the bearer token, "" for none
	masked   string
}

// whipSecrets are the query options kept in the key store, not the config.
var whipSecrets = []string{"token"}

const (
	whipWant     = "want whip+https://host[:port]/path?token=BEARER"
	whipMaxToken = 4096
)

// parseWHIP checks a whip+https:// URL: a host, an optional port, a path,
// and no option but the bearer token. Errors never contain the token.
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
	if u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return whipTarget{}, fmt.Errorf("%s: a WHIP URL has no user or fragment (the token goes in ?token=): %s", t.masked, whipWant)
	}
	if u.Hostname() == "" {
		return whipTarget{}, fmt.Errorf("no host in %s: %s", t.masked, whipWant)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return whipTarget{}, fmt.Errorf("%s: port %q is not 1 to 65535", t.masked, p)
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return whipTarget{}, fmt.Errorf("%s: malformed query: %s", t.masked, whipWant)
	}
	for name, vals := range q {
		if len(vals) > 1 {
			return whipTarget{}, fmt.Errorf("%s: option %q given %d times", t.masked, name, len(vals))
		}
		switch name {
		case "token":
			if vals[0] == "" || len(vals[0]) > whipMaxToken || strings.ContainsAny(vals[0], "\r\n\x00") {
				return whipTarget{}, fmt.Errorf("%s: the token must be 1 to %d characters on one line", t.masked, whipMaxToken)
			}
			t.token = vals[0]
		default:
			return whipTarget{}, fmt.Errorf("%s: unknown option %q: the only option is token (the bearer token)", t.masked, name)
		}
	}
	u.Scheme, u.RawQuery, u.ForceQuery = strings.TrimPrefix(scheme, "whip+"), "", false
	if u.Path == "" {
		u.Path = "/"
	}
	t.endpoint = u.String()
	return t, nil
}
