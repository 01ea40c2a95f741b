// Command pluginhost is OnAir's plugin loader child. The master starts it; run
// by hand it only explains that.
package main

import (
	"github.com/onair-studio/onair/internal/pluginhost"
	"github.com/onair-studio/onair/stub"
)

func main() {
	stub.Serve(stub.PluginHostName, &stub.PluginHostPlugin{Impl: pluginhost.New()})
}
