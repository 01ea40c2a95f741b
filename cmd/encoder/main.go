// Command encoder is OnAir's encoder child. The master starts it; run by hand
// it only explains that.
package main

import (
	"github.com/onair-studio/onair/internal/encoder"
	"github.com/onair-studio/onair/stub"
)

func main() {
	stub.Serve(stub.EncoderName, &stub.EncoderPlugin{Impl: encoder.New()})
}
