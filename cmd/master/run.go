package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/internal/display"
	"github.com/onair-studio/onair/internal/logfmt"
	"github.com/onair-studio/onair/internal/master"
	"github.com/onair-studio/onair/internal/metrics"
	"github.com/onair-studio/onair/internal/output"
	"github.com/onair-studio/onair/internal/supervise"
	"github.com/onair-studio/onair/stub/pb"
)

// usageError exits with status 2, like the flag package.
type usageError struct{ error }

func exitCode(err error) int {
	var u usageError
	var unreachable unreachableError
	switch {
	case errors.As(err, &u) || errors.Is(err, flag.ErrHelp):
		return exitUsage
	case errors.As(err, &unreachable):
		return exitUnreachable
	}
	return exitRefused
}

// run is the master itself.
func run(args []string) error {
	dir, err := config.Dir()
	if err != nil {
		return err
	}
	// The file is read before the flags are defined, so that each flag's
	// default is the file's value and a flag given overrides it.
	cfgPath := flagValue(args, "config", filepath.Join(dir, "config.yaml"))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return fmt.Errorf("refusing to start on a malformed config:\n%w", err)
	}
	exe, _ := os.Executable()
	fs := flag.NewFlagSet("master", flag.ContinueOnError)
	fs.String("config", cfgPath, "config file (YAML)")
	binDir := fs.String("bin-dir", filepath.Dir(exe), "directory holding the encoder and pluginhost binaries")
	fs.StringVar(&cfg.Control.Listen, "listen", cfg.Control.Listen, "Control API address (host:port; port 0 picks a free one)")
	fs.BoolVar(&cfg.Control.TLS, "tls", cfg.Control.TLS, "serve the Control API over TLS (required off loopback)")
	fs.StringVar(&cfg.Monitor.Listen, "monitor", cfg.Monitor.Listen, "RTSP monitor address (host:port; port 0 picks a free one)")
	fs.StringVar(&cfg.RTMPServer.Listen, "rtmp-listen", cfg.RTMPServer.Listen, "embedded RTMP server address (\"\" turns it off)")
	fs.StringVar(&cfg.ObsWebSocket.Listen, "obs-websocket", cfg.ObsWebSocket.Listen, "obs-websocket v5 server for stream decks and bots: PORT (loopback) or HOST:PORT; off when empty")
	fs.StringVar(&cfg.Metrics.Listen, "metrics", cfg.Metrics.Listen, "Prometheus /metrics: PORT (loopback) or HOST:PORT; off when empty")
	fs.StringVar(&cfg.RTMPServer.SRTListen, "srt-listen", cfg.RTMPServer.SRTListen, "UDP address where the embedded server also takes SRT publishers, streamid = its stream key (\"\" takes none)")
	var dests destFlag
	fs.Var(&dests, "dest", "destination rtmp:// or rtmps:// URL, with the stream key last or from -dest-key-file (repeatable; replaces the config file's list)")
	fs.Var(destKeyFlag{&dests}, "dest-key-file", "file holding the stream key of the -dest before it (- for stdin), which keeps the key out of ps")
	fs.BoolVar(&cfg.Live, "live", cfg.Live, "go live at once")
	fs.StringVar(&cfg.Record.Path, "record", cfg.Record.Path, "record to this file from the start (crash-safe MP4; the name may hold a Go time layout)")
	fs.StringVar(&cfg.Children, "children", cfg.Children, "children to run: all, or a comma list of "+strings.Join(config.ChildrenModes[1:], ","))
	fs.BoolVar(&cfg.Headless, "headless", cfg.Headless, "run without a window")
	attachAddr := fs.String("attach", "", "open the window against the running master at HOST:PORT (as 'master attach')")
	fs.StringVar(&cfg.Plugins.Dir, "plugins", cfg.Plugins.Dir, "plugins directory")
	fs.StringVar(&cfg.Encoder.Source, "source", cfg.Encoder.Source, "video source: auto, pattern, screen[:N[:X,Y,WxH]], window:NAME|0xID, image:PATH, color:#rrggbb")
	fs.IntVar(&cfg.Encoder.Width, "width", cfg.Encoder.Width, "output width")
	fs.IntVar(&cfg.Encoder.Height, "height", cfg.Encoder.Height, "output height")
	fs.IntVar(&cfg.Encoder.FPS, "fps", cfg.Encoder.FPS, "output frame rate")
	fs.IntVar(&cfg.Encoder.BitrateKbps, "bitrate", cfg.Encoder.BitrateKbps, "video bitrate in kbit/s")
	fs.StringVar(&cfg.Encoder.Backend, "backend", cfg.Encoder.Backend, "H.264 encoder: "+strings.Join(config.Backends, "|"))
	fs.StringVar(&cfg.Encoder.Preset, "preset", cfg.Encoder.Preset, "encoder preset")
	fs.BoolVar(&cfg.Encoder.Standby, "standby", cfg.Encoder.Standby, "keep a spare encoder ready, so an encoder crash costs a promotion instead of a start")
	logFormat := fs.String("log-format", "human", "log lines on stderr: "+strings.Join(logfmt.Formats, "|")+" (json for log shippers)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if dests != nil {
		cfg.Destinations = dests
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (did you mean 'master ctl %s'?)", fs.Arg(0), fs.Arg(0))}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if err := control.CheckListen(cfg.Control.Listen, cfg.Control.TLS); err != nil {
		return usageError{err}
	}
	if _, err := logfmt.New(io.Discard, *logFormat, false); err != nil {
		return usageError{err}
	}
	if *attachAddr != "" {
		return attachStudio(*binDir, []string{*attachAddr})
	}
	// Why there is no window, when there is none for want of a display.
	noWindow := ""
	if !cfg.Headless {
		if err := display.Reachable(); err != nil {
			noWindow = err.Error()
		} else if err := openStudio(*binDir, args); errors.Is(err, errNoStudio) {
			noWindow = err.Error()
		} else {
			return err
		}
	}

	// Catch signals before anything is announced: a supervisor or test that
	// sees the endpoint file may stop us at once, and that must be a clean stop.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)

	logs := master.NewLogBus()
	logOut := io.MultiWriter(os.Stderr, logs)
	// The terminal gets the chosen format; the window's log view always
	// gets lines people read.
	termLog, err := logfmt.New(os.Stderr, *logFormat, logfmt.IsTerminal(os.Stderr.Fd()))
	if err != nil {
		return usageError{err}
	}
	viewLog, _ := logfmt.New(logs, "human", false)
	log := slog.New(logfmt.Fanout(termLog, viewLog))
	token, err := control.LoadOrCreateToken(dir)
	if err != nil {
		return err
	}
	endpoint := control.Endpoint{}
	var srvCert *tls.Certificate
	if cfg.Control.TLS {
		c, err := control.LoadOrCreateCert(dir)
		if err != nil {
			return err
		}
		srvCert = &c
		endpoint.Fingerprint = control.Fingerprint(c)
	}
	ln, err := net.Listen("tcp", cfg.Control.Listen)
	if err != nil {
		return fmt.Errorf("control API: %w", err)
	}
	endpoint.Addr = ln.Addr().String()

	m, err := master.Start(master.Options{
		Config: cfg, ConfigDir: dir, ConfigPath: cfgPath, BinDir: *binDir, Policy: supervise.DefaultPolicy(),
		Log: log, ChildStderr: logOut, Logs: logs,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer m.Close()
	srv := control.NewServer(token, srvCert)
	pb.RegisterControlServer(srv, m)
	go func() {
		if err := srv.Serve(ln); err != nil {
			log.Error("control API stopped", "err", err)
		}
	}()
	defer srv.Stop()
	if addr := cfg.ObsWebSocket.Addr(); addr != "" {
		stop, err := serveObsWebSocket(addr, dir, m, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	if addr := cfg.Metrics.Addr(); addr != "" {
		mln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		defer metrics.Serve(mln, m)()
		log.Info("Prometheus metrics", "url", "http://"+mln.Addr().String()+"/metrics")
	}
	if err := control.WriteEndpoint(dir, endpoint); err != nil {
		log.Warn("cannot record the control endpoint for local clients", "err", err)
	}

	attach := "master ctl -addr " + endpoint.Addr
	if endpoint.Fingerprint != "" {
		attach += " -fingerprint " + endpoint.Fingerprint
	}
	log.Info("master running", "pid", os.Getpid(), "children", cfg.Children, "control", endpoint.Addr,
		"tls_fingerprint", endpoint.Fingerprint, "token_file", filepath.Join(dir, control.TokenFile))
	st, _ := m.Status(context.Background(), nil)
	fmt.Fprintf(os.Stderr, "\nOnAir master is running. Status: master ctl status\n")
	if st.GetRtmpPlay() != "" {
		fmt.Fprintf(os.Stderr, "Watch the stream:  ffplay %s   (or open it in VLC)\n", st.GetRtmpPlay())
	}
	if !st.GetLive() {
		fmt.Fprintf(os.Stderr, "Off air: go live with 'master ctl start'\n")
	}
	fmt.Fprintf(os.Stderr, "Watch the monitor: "+monitorPlayer+"   (%s)\n"+
		"From another machine: %s -token-file FILE status\n(FILE: a copy of %s, made over a channel you trust)\n\n",
		st.GetMonitor(), attach, filepath.Join(dir, control.TokenFile))
	if noWindow != "" {
		log.Info("no window; running headless", "why", noWindow)
	}

	s := <-sig
	log.Info("shutting down", "signal", s.String())
	return nil
}

// flagValue finds -name VALUE or -name=VALUE in args before flags are parsed.
func flagValue(args []string, name, def string) string {
	for i, a := range args {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return def
}

// destFlag collects repeated -dest flags.
type destFlag []config.Destination

func (d *destFlag) String() string { return "" }

func (d *destFlag) Set(v string) error {
	*d = append(*d, config.Destination{URL: v})
	return nil
}

// destKeyFlag gives the -dest before it its stream key, read from a file.
type destKeyFlag struct{ dests *destFlag }

func (k destKeyFlag) String() string { return "" }

func (k destKeyFlag) Set(path string) error {
	n := len(*k.dests)
	if n == 0 {
		return errors.New("give -dest URL before its -dest-key-file")
	}
	d := &(*k.dests)[n-1]
	if d.Key != "" {
		return fmt.Errorf("-dest %s has a -dest-key-file already", output.MaskURL(d.URL))
	}
	key, err := readSecretFile(path)
	if err != nil {
		return fmt.Errorf("stream key of %s: %w", output.MaskURL(d.URL), err)
	}
	d.Key = key
	return nil
}

// readSecretFile reads a key or token from a file, or from stdin for "-",
// so that it never shows in a process list or a shell history.
func readSecretFile(path string) (string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(os.Stdin, 4096))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return "", err
	}
	secret := strings.TrimSpace(string(data))
	if secret == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return secret, nil
}
