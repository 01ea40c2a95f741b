// Command worker is OnAir's job child: the master starts it, and it does
// the media work of jobs (remux, trim, transcode, vertical cut) at nice 10,
// so that the live encode always comes first.
package main

import (
	"log/slog"
	"os"

	"github.com/onair-studio/onair/internal/worker"
	"github.com/onair-studio/onair/stub"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := worker.Lower(worker.Nice); err != nil {
		log.Warn("could not lower the CPU priority", "nice", worker.Nice, "err", err)
	}
	stub.Serve(stub.WorkerName, &stub.WorkerPlugin{Impl: worker.New(log)})
}
