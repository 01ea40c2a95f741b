package stub

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/onair-studio/onair/stub/pb"
)

// PluginHandshake is the handshake between the pluginhost and a plugin
// binary (the Plugin service in plugin.proto). Its cookie and protocol
// version differ from Handshake's, so a plugin cannot be started as one of
// the master's children, nor a child as a plugin. PluginProtocolVersion
// changes only when plugin.proto changes incompatibly.
var PluginHandshake = plugin.HandshakeConfig{
	ProtocolVersion:  PluginProtocolVersion,
	MagicCookieKey:   "ONAIR_PLUGIN",
	MagicCookieValue: "onair-plugin-5e7d0c1b",
}

// PluginProtocolVersion is the version of the plugin contract.
const PluginProtocolVersion = 1

// ParamsRefused starts a running plugin's error (PluginState.error) when
// it refused new parameters and goes on with its previous ones.
const ParamsRefused = "new parameters refused by the plugin, the previous ones stay in effect: "

// PluginDispense is the name under which a plugin's service is dispensed.
const PluginDispense = "plugin"

// PluginMaxMessage bounds one message between the pluginhost and a plugin
// (plugin.proto documents it for authors): the children's own limit.
const PluginMaxMessage = maxMessage

// PluginPlugin serves pb.PluginServer in a plugin binary and dispenses a
// pb.PluginClient in the pluginhost.
type PluginPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pb.PluginServer
}

func (p *PluginPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, p.Impl)
	return nil
}

func (p *PluginPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return pb.NewPluginClient(c), nil
}

// PluginSet is what the pluginhost offers go-plugin when it starts a plugin.
var PluginSet = plugin.PluginSet{PluginDispense: &PluginPlugin{}}

// ServePlugin runs a plugin binary's service until the pluginhost closes it.
// Authors use the SDK (plugins/sdk) rather than this.
func ServePlugin(impl pb.PluginServer) {
	serve(PluginHandshake, plugin.PluginSet{PluginDispense: &PluginPlugin{Impl: impl}})
}

// PluginDialOptions are the pluginhost's side of PluginMaxMessage.
func PluginDialOptions() []grpc.DialOption { return DialOptions() }
