package control

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// CheckListen refuses to serve the API in the clear off loopback: the token
// would cross the network readable by anyone on the path.
func CheckListen(addr string, useTLS bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("control listen address %q: %w", addr, err)
	}
	if useTLS || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("control listen address %s is not loopback: TLS is required (add -tls, then attach with -fingerprint)", addr)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Limits on connections, so that a stranger who can reach the port cannot
// hold the master's open files: a connection must finish its TLS and HTTP/2
// set-up within HandshakeTimeout, one with no call in progress is closed
// after IdleTimeout (a client that watches events always has one, and the
// others reconnect by themselves), one that stops answering pings is closed
// after KeepaliveTime+KeepaliveTimeout, and at most MaxConnections are open.
const (
	HandshakeTimeout = 10 * time.Second
	IdleTimeout      = 30 * time.Second
	KeepaliveTimeout = 5 * time.Second
	MaxConnections   = 64
)

// Server is the Control API's gRPC server with the limits above.
type Server struct {
	*grpc.Server
	conns *connLimit
}

// NewServer returns a server on which every call must carry token; with
// cert non-nil it speaks TLS.
func NewServer(token string, cert *tls.Certificate) *Server {
	s := &Server{conns: &connLimit{max: MaxConnections}}
	a := auth{token: []byte(token), trust: s.conns.trust}
	opts := []grpc.ServerOption{
		// The token is checked when a call's headers arrive, before a
		// stream exists: a caller without it can never hold a call open,
		// so its connection stays idle and IdleTimeout ends it.
		grpc.InTapHandle(a.tap),
		grpc.ConnectionTimeout(HandshakeTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: IdleTimeout, Time: KeepaliveTime, Timeout: KeepaliveTimeout,
		}),
		// Clients ping every KeepaliveTime; gRPC's default would call that
		// abuse and drop them.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: KeepaliveTime / 2, PermitWithoutStream: true}),
	}
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{
			Certificates: []tls.Certificate{*cert},
			MinVersion:   tls.VersionTLS13,
		})))
	}
	s.Server = grpc.NewServer(opts...)
	return s
}

// Serve serves ln, at most MaxConnections at a time.
func (s *Server) Serve(ln net.Listener) error {
	return s.Server.Serve(limitedListener{Listener: ln, limit: s.conns})
}

type auth struct {
	token []byte
	trust func(net.Addr)
}

func (a auth) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if err := a.check(info.Header); err != nil {
		return nil, err
	}
	if p, ok := peer.FromContext(ctx); ok {
		a.trust(p.Addr)
	}
	return ctx, nil
}

func (a auth) check(md metadata.MD) error {
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return status.Error(codes.Unauthenticated, "missing token")
	}
	got, ok := strings.CutPrefix(vals[0], "Bearer ")
	if ok && got == "" {
		return status.Error(codes.Unauthenticated, "missing token")
	}
	if !ok || subtle.ConstantTimeCompare([]byte(got), a.token) != 1 {
		return status.Error(codes.Unauthenticated, "wrong token")
	}
	return nil
}
