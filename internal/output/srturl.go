package output

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// srtTarget is a parsed srt:// destination (caller mode).
type srtTarget struct {
	addr       string // host:port to dial
	streamID   string // secret: often the ingest's stream key
	passphrase string // secret: the encryption passphrase
	latency    time.Duration
	masked     string
}

// SRT's own limits on its options (libsrt's and gosrt's).
const (
	srtDefaultLatency = 120 * time.Millisecond
	srtMinLatency     = 20 * time.Millisecond
	srtMaxLatency     = 10 * time.Second
	srtMinPassphrase  = 10
	srtMaxPassphrase  = 79
	srtMaxStreamID    = 512
)

// srtSecrets are the query options kept in the key store, not the config.
var srtSecrets = []string{"streamid", "passphrase"}

const srtWant = "want srt://host:port?streamid=ID&passphrase=SECRET&latency=MS"

// parseSRT checks an srt:// URL: a host, a port, and only the options
// OnAir sets (streamid, passphrase, latency in ms, mode=caller). Errors
// never contain the streamid or the passphrase.
func parseSRT(raw string) (srtTarget, error) {
	t := srtTarget{masked: MaskURL(raw), latency: srtDefaultLatency}
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, "srt") {
		return srtTarget{}, fmt.Errorf("invalid SRT URL %s: %s", t.masked, srtWant)
	}
	if u.User != nil || u.Fragment != "" || strings.Trim(u.Path, "/") != "" || u.Opaque != "" {
		return srtTarget{}, fmt.Errorf("%s: an SRT URL has no user, path or fragment: %s", t.masked, srtWant)
	}
	if u.Hostname() == "" {
		return srtTarget{}, fmt.Errorf("no host in %s: %s", t.masked, srtWant)
	}
	if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
		return srtTarget{}, fmt.Errorf("%s needs a port (1-65535): %s", t.masked, srtWant)
	}
	t.addr = net.JoinHostPort(u.Hostname(), u.Port())
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return srtTarget{}, fmt.Errorf("%s: malformed query: %s", t.masked, srtWant)
	}
	for name, vals := range q {
		if len(vals) > 1 {
			return srtTarget{}, fmt.Errorf("%s: option %q given %d times", t.masked, name, len(vals))
		}
		v := vals[0]
		switch name {
		case "streamid":
			if len(v) > srtMaxStreamID {
				return srtTarget{}, fmt.Errorf("%s: streamid is longer than %d characters", t.masked, srtMaxStreamID)
			}
			t.streamID = v
		case "passphrase":
			if len(v) < srtMinPassphrase || len(v) > srtMaxPassphrase {
				return srtTarget{}, fmt.Errorf("%s: the passphrase must be %d to %d characters", t.masked, srtMinPassphrase, srtMaxPassphrase)
			}
			t.passphrase = v
		case "latency":
			ms, err := strconv.Atoi(v)
			if d := time.Duration(ms) * time.Millisecond; err != nil || d < srtMinLatency || d > srtMaxLatency {
				return srtTarget{}, fmt.Errorf("%s: latency=%q: want milliseconds from %d to %d", t.masked, v, srtMinLatency.Milliseconds(), srtMaxLatency.Milliseconds())
			}
			t.latency = time.Duration(ms) * time.Millisecond
		case "mode":
			if v != "caller" {
				return srtTarget{}, fmt.Errorf("%s: mode=%q: a destination calls its server (mode=caller)", t.masked, v)
			}
		default:
			return srtTarget{}, fmt.Errorf("%s: unknown option %q: the options are streamid, passphrase, latency (ms) and mode=caller", t.masked, name)
		}
	}
	return t, nil
}
