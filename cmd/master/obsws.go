package main

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"

	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/internal/obsserver"
	"github.com/onair-studio/onair/stub/pb"
)

// serveObsWebSocket answers obs-websocket v5 tools on addr with the
// password kept in dir (made on first use, 0600). stop says ExitStarted to
// the clients and closes the server.
func serveObsWebSocket(addr, dir string, m pb.ControlServer, log *slog.Logger) (stop func(), err error) {
	password, err := control.LoadOrCreateSecret(dir, obsserver.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("obs-websocket password: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("obs-websocket: %w", err)
	}
	srv := obsserver.New(obsserver.Options{Control: m, Password: password, Log: log})
	go func() {
		if err := srv.Serve(ln); err != nil {
			log.Error("obs-websocket server stopped", "err", err)
		}
	}()
	log.Info("obs-websocket v5 server running", "addr", ln.Addr().String(),
		"password_file", filepath.Join(dir, obsserver.PasswordFile))
	return srv.Close, nil
}
