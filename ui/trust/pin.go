package trust

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrMismatch means the master presents a certificate other than the pinned
// one.
var ErrMismatch = errors.New("certificate changed")

// Probe connects to addr and returns the fingerprint of the certificate it
// presents, or "" if it does not speak TLS. Nothing is trusted here: the
// caller compares or pins the result.
func Probe(ctx context.Context, addr string) (string, error) {
	d := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: 5 * time.Second},
		Config: &tls.Config{
			MinVersion:         tls.VersionTLS13,
			InsecureSkipVerify: true, // only reading the certificate, to pin or compare it
			NextProtos:         []string{"h2"},
		},
	}
	raw, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("cannot reach %s: %w", addr, err)
	}
	raw.Close()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		// It answered TCP but not TLS: a plain (loopback-only) master.
		return "", nil
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", fmt.Errorf("%s sent no certificate", addr)
	}
	sum := sha256.Sum256(certs[0].Raw)
	return hex.EncodeToString(sum[:]), nil
}

// Decision is what to dial with and what the user should be told.
type Decision struct {
	Fingerprint string // "" means plain, on loopback only
	FirstUse    bool   // the fingerprint was not known before: pin it once the user agrees
}

// Decide works out the fingerprint for addr from one given by the user, the
// store and what the master presents now. A changed certificate is an error
// that says what to do; plain connections are allowed only to loopback,
// where the master serves them.
func Decide(ctx context.Context, s *Store, addr, given string) (Decision, error) {
	seen, err := Probe(ctx, addr)
	if err != nil {
		return Decision{}, err
	}
	if given != "" {
		if seen != Normalize(given) {
			return Decision{}, fmt.Errorf("%w: the master at %s presents %s, not the fingerprint given (%s)",
				ErrMismatch, addr, Pretty(seen), Pretty(given))
		}
		return Decision{Fingerprint: seen}, nil
	}
	known, ok, err := s.Lookup(addr)
	if err != nil {
		return Decision{}, err
	}
	if ok && known.Fingerprint != "" {
		if seen != known.Fingerprint {
			return Decision{}, fmt.Errorf("%w: the master at %s now presents certificate %s, but %s was pinned when you first attached. "+
				"If its certificate was remade on purpose, remove %s from %s and attach again; otherwise do not connect",
				ErrMismatch, addr, Pretty(seen), Pretty(known.Fingerprint), addr, s.Path)
		}
		return Decision{Fingerprint: seen}, nil
	}
	if seen == "" {
		if !loopback(addr) {
			return Decision{}, fmt.Errorf("the master at %s does not speak TLS; off this machine it must run with -tls", addr)
		}
		return Decision{}, nil
	}
	return Decision{Fingerprint: seen, FirstUse: true}, nil
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
