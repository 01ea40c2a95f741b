package trust

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/stub/pb"
)

// serve runs a real Control API server, with TLS when cert is set.
func serve(t *testing.T, cert *tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := control.NewServer("tok", cert)
	pb.RegisterControlServer(srv, pb.UnimplementedControlServer{})
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func TestFirstUsePinsThenRefusesAChangedCertificate(t *testing.T) {
	cert, err := control.LoadOrCreateCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, &cert)
	s := NewStore(t.TempDir())
	ctx := context.Background()

	d, err := Decide(ctx, s, addr, "")
	if err != nil {
		t.Fatal(err)
	}
	if !d.FirstUse || d.Fingerprint != control.Fingerprint(cert) {
		t.Fatalf("first use: got %+v, want the served certificate %s pinned on first use", d, control.Fingerprint(cert))
	}
	if err := s.Remember(addr, Master{Fingerprint: d.Fingerprint, Token: "tok"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(s.Path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("store mode: %v %v, want 0600", fi.Mode(), err)
	}
	d, err = Decide(ctx, s, addr, "")
	if err != nil || d.FirstUse || d.Fingerprint != control.Fingerprint(cert) {
		t.Fatalf("second use: %+v %v, want the pinned fingerprint, not first use", d, err)
	}
	// The pinned fingerprint dials for real.
	c, conn, err := control.Dial(addr, "tok", d.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := c.Status(ctx, &pb.StatusRequest{}); err == nil || !strings.Contains(err.Error(), "not implemented") {
		t.Fatalf("status over the pinned connection: %v, want the server's own 'not implemented'", err)
	}

	// Another certificate at the same address is refused, naming both.
	other, err := control.LoadOrCreateCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remember(addr, Master{Fingerprint: control.Fingerprint(other)}); err != nil {
		t.Fatal(err)
	}
	_, err = Decide(ctx, s, addr, "")
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), Pretty(control.Fingerprint(cert))) {
		t.Fatalf("changed certificate: %v, want ErrMismatch naming the new fingerprint", err)
	}
	if m, _, _ := s.Lookup(addr); m.Token != "tok" {
		t.Fatalf("remembering a fingerprint lost the token: %+v", m)
	}
}

func TestGivenFingerprintMustMatch(t *testing.T) {
	cert, err := control.LoadOrCreateCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, &cert)
	s := NewStore(t.TempDir())
	if d, err := Decide(context.Background(), s, addr, Pretty(control.Fingerprint(cert))); err != nil || d.FirstUse {
		t.Fatalf("given fingerprint in pasted form: %+v %v", d, err)
	}
	if _, err := Decide(context.Background(), s, addr, strings.Repeat("ab", 32)); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong given fingerprint: %v, want ErrMismatch", err)
	}
}

func TestPlainOnlyOnLoopback(t *testing.T) {
	addr := serve(t, nil)
	d, err := Decide(context.Background(), NewStore(t.TempDir()), addr, "")
	if err != nil || d.Fingerprint != "" {
		t.Fatalf("plain loopback master: %+v %v, want plain", d, err)
	}
	if loopback("192.0.2.1:7000") || !loopback("localhost:7000") || !loopback("[::1]:7000") {
		t.Fatal("loopback detection")
	}
	if _, err := Decide(context.Background(), NewStore(t.TempDir()), "127.0.0.1:1", ""); err == nil {
		t.Fatal("an unreachable master gave no error")
	}
}
