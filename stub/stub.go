// Package stub holds the contracts between OnAir's processes: the .proto files
// in proto/, their generated code in pb/, and the go-plugin glue that serves a
// contract in a child process and dispenses its client in the master.
package stub

import (
	"context"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/onair-studio/onair/stub/pb"
)

// Handshake keeps a child binary from being run by anything but the master:
// go-plugin refuses to serve when the cookie is missing.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "ONAIR_CHILD",
	MagicCookieValue: "a3f1c2e4-onair-child",
}

// Names under which the children's services are dispensed.
const (
	EncoderName    = "encoder"
	PluginHostName = "pluginhost"
	WorkerName     = "worker"
)

// Plugins is the set the master offers to go-plugin when it starts a child.
var Plugins = plugin.PluginSet{
	EncoderName:    &EncoderPlugin{},
	PluginHostName: &PluginHostPlugin{},
	WorkerName:     &WorkerPlugin{},
}

// EncoderPlugin serves pb.EncoderServer in the encoder child and dispenses a
// pb.EncoderClient in the master.
type EncoderPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pb.EncoderServer
}

func (p *EncoderPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterEncoderServer(s, p.Impl)
	return nil
}

func (p *EncoderPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return pb.NewEncoderClient(c), nil
}

// PluginHostPlugin serves pb.PluginHostServer in the pluginhost child and
// dispenses a pb.PluginHostClient in the master.
type PluginHostPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pb.PluginHostServer
}

func (p *PluginHostPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginHostServer(s, p.Impl)
	return nil
}

func (p *PluginHostPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return pb.NewPluginHostClient(c), nil
}

// WorkerPlugin serves pb.WorkerServer in the worker child and dispenses a
// pb.WorkerClient in the master.
type WorkerPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pb.WorkerServer
}

func (p *WorkerPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterWorkerServer(s, p.Impl)
	return nil
}

func (p *WorkerPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return pb.NewWorkerClient(c), nil
}

// maxMessage lets a snapshot or an overlay frame cross a boundary: gRPC's
// default of 4 MiB is less than one 1080p RGBA frame.
const maxMessage = 64 << 20

// Serve runs a child's service until the master closes it. name is EncoderName,
// PluginHostName or WorkerName, p the matching plugin with its Impl set.
func Serve(name string, p plugin.Plugin) { serve(Handshake, plugin.PluginSet{name: p}) }

// serve runs a go-plugin server for the master's children and for plugins.
func serve(h plugin.HandshakeConfig, set plugin.PluginSet) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: h,
		Plugins:         set,
		// go-plugin's own chatter stays out of the master's log unless it
		// is a warning.
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr}),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage))
			return grpc.NewServer(opts...)
		},
	})
}

// DialOptions are the master's side of maxMessage.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage))}
}
