// Command encoder is OnAir's encoder child. The master starts it; run by hand
// it only explains that. Run as "encoder aac-to-opus" it is the master's
// AAC → Opus transcoder for WHIP destinations (opuspipe).
package main

import (
	"fmt"
	"os"

	"github.com/onair-studio/onair/internal/audio"
	"github.com/onair-studio/onair/internal/encoder"
	"github.com/onair-studio/onair/internal/gosched"
	"github.com/onair-studio/onair/internal/opuspipe"
	"github.com/onair-studio/onair/stub"
)

// opusKbps is the Opus bitrate: transparent for stereo speech and music.
const opusKbps = 128

func main() {
	if len(os.Args) == 2 && os.Args[1] == opuspipe.Arg {
		err := opuspipe.Serve(os.Stdin, os.Stdout, func(asc []byte) (opuspipe.Transcoder, error) {
			return audio.NewOpusTranscoder(asc, opusKbps)
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "aac-to-opus:", err)
			os.Exit(1)
		}
		return
	}
	gosched.OneProcessor() // libx264 encodes on threads of its own
	stub.Serve(stub.EncoderName, &stub.EncoderPlugin{Impl: encoder.New()})
}
