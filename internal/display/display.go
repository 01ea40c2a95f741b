// Package display says whether a window can open here: the X display named
// by $DISPLAY must answer. An unset variable is not the only way to have no
// display: over ssh, or after a desktop session ended, a stale one names a
// server that is gone, and the GUI toolkit would then fail (fyne panics)
// instead of the studio running headless. Only X11 counts: fyne's default
// build draws through X11 (XWayland on a Wayland desktop).
package display

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Reachable reports nil when the display a window would use answers.
func Reachable() error {
	d := os.Getenv("DISPLAY")
	if d == "" {
		return errors.New("no display ($DISPLAY is not set)")
	}
	network, addr, err := x11Address(d)
	if err != nil {
		return err
	}
	if err := dial(network, addr); err != nil {
		return fmt.Errorf("display %s does not answer: %w", d, err)
	}
	return nil
}

// x11Address is where the X server of display d (":0", ":1.0", "unix:0",
// "host:10.0", or a socket path) listens.
func x11Address(d string) (network, addr string, err error) {
	if strings.HasPrefix(d, "/") {
		return "unix", d, nil
	}
	i := strings.LastIndex(d, ":")
	if i < 0 {
		return "", "", fmt.Errorf("display %q: want HOST:N or :N", d)
	}
	host, num := d[:i], d[i+1:]
	num, _, _ = strings.Cut(num, ".")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return "", "", fmt.Errorf("display %q: want HOST:N or :N", d)
	}
	if host == "" || host == "unix" {
		return "unix", "/tmp/.X11-unix/X" + num, nil
	}
	return "tcp", net.JoinHostPort(host, strconv.Itoa(6000+n)), nil
}

func dial(network, addr string) error {
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}
