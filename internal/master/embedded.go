package master

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"

	srt "github.com/datarhei/gosrt"

	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/internal/output"
	"github.com/onair-studio/onair/internal/rtmpserver"
)

// The embedded live server: the default destination, so a fresh install
// streams somewhere real that any player can open. Publishing needs the
// stream key kept in the config dir; players play PlayName, so the URL
// handed to viewers does not give the key away.
const (
	streamKeyFile = "stream-key"
	rtmpApp       = "live"
	playName      = "program"
)

// RTMPServer is the embedded live server, running in the master or alone.
type RTMPServer struct {
	srv     *rtmpserver.Server
	addr    string // host:port to reach it on this machine
	key     string
	keyFile string
	served  chan error
	srt     chan error // ServeSRT's end, once it serves SRT
}

// StartRTMPServer serves RTMP on listen, with the stream key kept in
// configDir (made on first run).
func StartRTMPServer(listen, configDir string, log *slog.Logger) (*RTMPServer, error) {
	key, err := control.LoadOrCreateSecret(configDir, streamKeyFile)
	if err != nil {
		return nil, err
	}
	srv, err := rtmpserver.New(rtmpserver.Config{App: rtmpApp, Key: key, PlayName: playName, Log: log})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("embedded RTMP server: %w (set rtmp_server.listen, or -rtmp-listen \"\" to turn it off)", err)
	}
	e := &RTMPServer{srv: srv, key: key, keyFile: filepath.Join(configDir, streamKeyFile), served: make(chan error, 1)}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	host, _, _ := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	e.addr = net.JoinHostPort(host, port)
	go func() { e.served <- srv.Serve(ln) }()
	return e, nil
}

func (e *RTMPServer) publishURL() string {
	return fmt.Sprintf("rtmp://%s/%s/%s", e.addr, rtmpApp, e.key)
}

// MaskedPublishURL is where to publish, with the key masked.
func (e *RTMPServer) MaskedPublishURL() string { return output.MaskURL(e.publishURL()) }

// KeyFile holds the stream key.
func (e *RTMPServer) KeyFile() string { return e.keyFile }

// PlayURL is where players watch; it holds no secret.
func (e *RTMPServer) PlayURL() string {
	return fmt.Sprintf("rtmp://%s/%s/%s", e.addr, rtmpApp, playName)
}

// ListenSRT also takes publishers over SRT on listen (UDP host:port), the
// stream key as their streamid; players watch them at PlayURL as usual.
func (e *RTMPServer) ListenSRT(listen string) error {
	ln, err := srt.Listen("srt", listen, srt.DefaultConfig())
	if err != nil {
		return fmt.Errorf("embedded server's SRT listener: %w (set rtmp_server.srt_listen, or -srt-listen \"\" to turn it off)", err)
	}
	e.srt = make(chan error, 1)
	go func() { e.srt <- e.srv.ServeSRT(ln) }()
	return nil
}

// Close stops serving.
func (e *RTMPServer) Close() {
	e.srv.Close()
	if err := <-e.served; err != nil && !errors.Is(err, rtmpserver.ErrServerClosed) {
		slog.Default().Warn("embedded RTMP server", "err", err)
	}
	if e.srt != nil {
		if err := <-e.srt; err != nil && !errors.Is(err, rtmpserver.ErrServerClosed) {
			slog.Default().Warn("embedded server's SRT listener", "err", err)
		}
	}
}
