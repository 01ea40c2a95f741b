package control

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/onair-studio/onair/internal/privfile"
	"net"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/onair-studio/onair/stub/pb"
)

// EndpointFile is where a running master tells local clients how to reach it.
const EndpointFile = "control.json"

// Endpoint is how to reach a master: its address and, with TLS, the
// certificate fingerprint to pin. It never holds the token.
type Endpoint struct {
	Addr        string `json:"addr"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

// WriteEndpoint records a master's endpoint in dir.
func WriteEndpoint(dir string, e Endpoint) error {
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	return privfile.Write(filepath.Join(dir, EndpointFile), append(data, '\n'))
}

// ReadEndpoint returns the endpoint of the master last started from dir.
func ReadEndpoint(dir string) (Endpoint, error) {
	var e Endpoint
	data, err := os.ReadFile(filepath.Join(dir, EndpointFile))
	if err != nil {
		return e, err
	}
	return e, json.Unmarshal(data, &e)
}

// KeepaliveTime is how long a client connection may be silent before it
// pings the master; 10 s is the least gRPC allows. The master accepts pings
// this often (see NewServer).
const KeepaliveTime = 10 * time.Second

// MaxMessage is the largest answer a client takes: a snapshot PNG of a 4K
// program can be 25 MB (gRPC's default is 4 MiB). The children's
// connections to the master allow the same (stub).
const MaxMessage = 64 << 20

// Dial connects to a master's Control API. A non-empty fingerprint means
// TLS, trusting only the certificate with that fingerprint; without one
// only a loopback address is dialled, as the token would otherwise cross
// the network in the clear.
func Dial(addr, token, fingerprint string) (pb.ControlClient, *grpc.ClientConn, error) {
	tr := insecure.NewCredentials()
	if fingerprint != "" {
		tr = credentials.NewTLS(pinnedTLS(fingerprint))
	} else if host, _, err := net.SplitHostPort(addr); err != nil {
		return nil, nil, fmt.Errorf("control API address %q: %w", addr, err)
	} else if !isLoopback(host) {
		return nil, nil, fmt.Errorf("control API at %s: not on this machine, so only over TLS: give the master's certificate fingerprint (-fingerprint)", addr)
	}
	conn, err := grpc.Dial(addr,
		grpc.WithTransportCredentials(tr),
		grpc.WithPerRPCCredentials(bearer(token)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessage)),
		// A master that stops answering (a frozen process, or a pulled
		// cable between the two PCs of an attach setup) sends no error:
		// pings notice it within about 15 s, and a watching window says so.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time: KeepaliveTime, Timeout: KeepaliveTimeout, PermitWithoutStream: true,
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("control API at %s: %w", addr, err)
	}
	return pb.NewControlClient(conn), conn, nil
}

// bearer sends the token with every call. Plain connections are allowed
// because Dial makes them on loopback only.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }
