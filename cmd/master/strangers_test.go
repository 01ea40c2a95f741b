package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/stub/pb"
)

// openFiles counts a process's open file descriptors.
func openFiles(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// Strangers who reach the Control API port cannot hold the master's open
// files: connections that never finish the HTTP/2 set-up, or finish it and
// never call, are closed, and at most control.MaxConnections are open at
// once. Meanwhile the user's `master ctl` works, and a client watching
// events (the studio window) stays connected past the idle limit.
func TestControlAPIDropsStrangers(t *testing.T) {
	t.Parallel()
	m := startMaster(t, nil, "-children", "plugins")
	m.AwaitConfigured(10*time.Second, "pluginhost")
	pid := m.Cmd.Process.Pid

	watcher, conn, err := control.Dial(m.Addr, m.Token, "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := watcher.WatchEvents(ctx, &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	watchStart := time.Now()
	events := make(chan *pb.Event, 1024)
	go func() {
		defer close(events)
		for {
			ev, err := stream.Recv()
			if err != nil {
				return
			}
			events <- ev
		}
	}()
	<-events
	baseline := openFiles(t, pid)

	const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	emptySettings := string([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
	var strangers []net.Conn
	defer func() {
		for _, c := range strangers {
			c.Close()
		}
	}()
	for i := 0; i < 200; i++ {
		c, err := net.Dial("tcp", m.Addr)
		if err != nil {
			t.Fatal(err)
		}
		strangers = append(strangers, c)
		switch i % 3 {
		case 1: // the HTTP/2 preface and nothing more
			_, err = c.Write([]byte(preface))
		case 2: // a finished HTTP/2 set-up, and never a call
			_, err = c.Write([]byte(preface + emptySettings))
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	if out, err := m.Ctl("status"); err != nil || !strings.Contains(out, "pluginhost") {
		t.Fatalf("ctl status during the flood: %v\n%s", err, out)
	}
	most := 0
	took := m.Await("the master's open files back to their baseline", 90*time.Second, func() bool {
		n := openFiles(t, pid)
		most = max(most, n)
		return n <= baseline
	})
	t.Logf("open files: baseline %d, at most %d during the flood, back to the baseline in %s", baseline, most, took.Round(time.Second))
	// A few beyond the limit: the ctl call's connection, and a stranger
	// accepted before its place was taken.
	if most > baseline+control.MaxConnections+3 {
		t.Errorf("%d open files during the flood, baseline %d: more than %d connections held",
			most, baseline, control.MaxConnections)
	}

	// The watching client is still connected past the idle limit.
	m.Await("the idle limit passed", 2*control.IdleTimeout, func() bool {
		return time.Since(watchStart) > control.IdleTimeout+control.KeepaliveTime
	})
	if out, err := m.Ctl("start"); err != nil {
		t.Fatalf("ctl start: %v\n%s", err, out)
	}
	m.Await("the watching client sees going live", 10*time.Second, func() bool {
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("the master closed the watching client's stream")
				}
				if ev.GetStatus().GetLive() {
					return true
				}
			default:
				return false
			}
		}
	})
}
