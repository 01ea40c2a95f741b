// Command otherproto is a test plugin that speaks plugin protocol version 2:
// the pluginhost must refuse it with a clear error.
package main

import (
	"context"
	"image"

	"github.com/hashicorp/go-plugin"

	"github.com/onair-studio/onair/plugins/sdk"
	"github.com/onair-studio/onair/stub"
)

type otherproto struct{ sdk.Base }

func (otherproto) Info() sdk.Info {
	return sdk.Info{Name: "otherproto", Version: "2.0.0", Kind: sdk.KindOverlay}
}

func (otherproto) Render(context.Context, image.Point) (sdk.Frame, error) { return sdk.Frame{}, nil }

func main() {
	h := stub.PluginHandshake
	h.ProtocolVersion = stub.PluginProtocolVersion + 1
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: h,
		Plugins:         plugin.PluginSet{stub.PluginDispense: &stub.PluginPlugin{Impl: sdk.NewServer(otherproto{})}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
