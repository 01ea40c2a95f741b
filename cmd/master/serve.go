package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/master"
)

// serveRTMP runs the embedded live server alone: another OnAir (or any RTMP
// encoder) publishes to it, and players watch.
func serveRTMP(args []string) error {
	dir, err := config.Dir()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("master serve-rtmp", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:1935", "address to serve RTMP on")
	srtListen := fs.String("srt-listen", "", "UDP address to also take SRT publishers on (streamid = the stream key)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	sig := make(chan os.Signal, 1) // before the address is announced, as in run
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv, err := master.StartRTMPServer(*listen, dir, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	if *srtListen != "" {
		if err := srv.ListenSRT(*srtListen); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "\nSRT publishers: srt://%s?streamid=KEY (the same key)\n", *srtListen)
	}
	fmt.Fprintf(os.Stderr, "\nRTMP live server on %s\nPublish to:  %s   (the key is in %s)\nWatch with:  ffplay %s\n\n",
		*listen, srv.MaskedPublishURL(), srv.KeyFile(), srv.PlayURL())
	<-sig
	return nil
}
