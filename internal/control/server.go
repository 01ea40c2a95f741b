package control

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
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

// NewServer returns a gRPC server on which every call must carry token; with
// cert non-nil it speaks TLS.
func NewServer(token string, cert *tls.Certificate) *grpc.Server {
	a := auth{token: []byte(token)}
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(a.unary),
		grpc.ChainStreamInterceptor(a.stream),
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
	return grpc.NewServer(opts...)
}

type auth struct{ token []byte }

func (a auth) check(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
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

func (a auth) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := a.check(ctx); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (a auth) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := a.check(ss.Context()); err != nil {
		return err
	}
	return h(srv, ss)
}
