package soak

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/stub/pb"
)

// strangers is one burst of hostile RTMP clients at the master's embedded
// server, as anyone who can reach the port could send: messages declared
// huge and never finished, thousands of chunk streams, a connect whose AMF0
// claims 2^31 array elements, and a flood of idle connections. Every
// connection is closed by the end of the burst; it reports how many the
// server itself dropped or turned away.
func strangers(addr string) (dropped, sent int) {
	var wg sync.WaitGroup
	var drops atomic.Int32
	attack := func(send func(c net.Conn) error) {
		wg.Add(1)
		sent++
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				drops.Add(1) // turned away at the door
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(3 * time.Second))
			if rtmpHandshake(c) != nil || send(c) != nil {
				drops.Add(1)
			}
		}()
	}
	for range 3 {
		attack(func(c net.Conn) error { // a 16 MiB command, sent up to 4 MiB
			if _, err := c.Write(chunkHeader(3, 20, 0xffffff)); err != nil {
				return err
			}
			return writeFor(c, 4<<20)
		})
		attack(func(c net.Conn) error { // a new chunk stream for every 100 bytes
			for csid := 3; csid < 70000; csid++ {
				if _, err := c.Write(append(chunkHeader(csid, 20, 1000), make([]byte, 100)...)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	attack(func(c net.Conn) error { // connect {app: strict array of 2^31 elements}
		body := []byte{0x02, 0, 7, 'c', 'o', 'n', 'n', 'e', 'c', 't', 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
			0x03, 0, 3, 'a', 'p', 'p', 0x0a, 0x7f, 0xff, 0xff, 0xff, 0, 0, 9}
		if _, err := c.Write(append(chunkHeader(3, 20, len(body)), body...)); err != nil {
			return err
		}
		_, err := io.Copy(io.Discard, c) // the server hangs up
		return err
	})
	for range 200 { // a flood of connections that say nothing
		attack(func(c net.Conn) error { _, err := io.Copy(io.Discard, c); return err })
	}
	wg.Wait()
	return int(drops.Load()), sent
}

// rtmpHandshake sends C0 C1, reads S0 S1 S2 and echoes S1 as C2.
func rtmpHandshake(c net.Conn) error {
	if _, err := c.Write(append([]byte{3}, make([]byte, 1536)...)); err != nil {
		return err
	}
	s := make([]byte, 1+2*1536)
	if _, err := io.ReadFull(c, s); err != nil {
		return err
	}
	_, err := c.Write(s[1 : 1+1536])
	return err
}

// chunkHeader is a type-0 chunk header on csid for a message of length.
func chunkHeader(csid int, typeID byte, length int) []byte {
	var h []byte
	switch {
	case csid < 64:
		h = []byte{byte(csid)}
	case csid < 320:
		h = []byte{0, byte(csid - 64)}
	default:
		h = []byte{1, byte((csid - 64) & 0xff), byte((csid - 64) >> 8)}
	}
	h = append(h, 0, 0, 0, byte(length>>16), byte(length>>8), byte(length), typeID)
	return binary.LittleEndian.AppendUint32(h, 0)
}

// writeFor writes n bytes in 128-byte chunks of one message.
func writeFor(c net.Conn, n int) error {
	chunk := append([]byte{0xc3}, make([]byte, 128)...)
	for sent := 0; sent < n; sent += 128 {
		b := chunk[1:]
		if sent > 0 {
			b = chunk
		}
		if _, err := c.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// apiEdits makes the changes several windows and scripts would make at the
// same moment: parallel destination adds (with keys) and bitrate changes,
// then removes what it added. It returns what the config file lacked or
// held that it should not, checked after the adds and after the removes.
func apiEdits(c pb.ControlClient, cfgPath string, round int) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const adds = 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	fail := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	name := func(i int) string { return fmt.Sprintf("soak-%d-%d", round, i) }
	key := func(i int) string { return fmt.Sprintf("soak-secret-key-%d-%d", round, i) }
	for i := range adds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Port 1 refuses: the destination retries on its own, harmlessly.
			_, err := c.AddDestination(ctx, &pb.DestinationSpec{Name: name(i), Url: "rtmp://127.0.0.1:1/live", Key: key(i)})
			if err != nil {
				fail("add %s: %v", name(i), err)
			}
		}()
	}
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.SetBitrate(ctx, &pb.BitrateRequest{Kbps: int32(1500 + 100*i)}); err != nil {
				fail("bitrate: %v", err)
			}
		}()
	}
	wg.Wait()
	check := func(when string, want func(string) bool) {
		raw, err := os.ReadFile(cfgPath)
		if err != nil {
			fail("%s: %v", when, err)
			return
		}
		for i := range adds {
			if strings.Contains(string(raw), key(i)) {
				fail("%s: the config file holds stream key %d", when, i)
			}
		}
		cfg, err := config.Load(cfgPath)
		if err != nil {
			fail("%s: the config file does not load: %v", when, err)
			return
		}
		if len(cfg.Plugins.List) != 2 {
			fail("%s: the config file has %d plugins, want 2", when, len(cfg.Plugins.List))
		}
		have := map[string]bool{}
		for _, d := range cfg.Destinations {
			have[d.Name] = true
		}
		for i := range adds {
			if have[name(i)] != want(name(i)) {
				fail("%s: destination %s in the file: %v", when, name(i), have[name(i)])
			}
		}
		if len(cfg.Destinations) < 2 {
			fail("%s: the config file lost the two live destinations (%d left)", when, len(cfg.Destinations))
		}
	}
	check("after parallel adds", func(string) bool { return true })

	// Remove them, highest index first so the others keep theirs.
	st, err := c.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		return append(problems, fmt.Sprintf("status: %v", err))
	}
	dests := st.GetDestinations()
	for i := len(dests) - 1; i >= 0; i-- {
		if strings.HasPrefix(dests[i].GetName(), fmt.Sprintf("soak-%d-", round)) {
			if _, err := c.RemoveDestination(ctx, &pb.DestinationRequest{Index: int32(i)}); err != nil {
				fail("remove %s: %v", dests[i].GetName(), err)
			}
		}
	}
	check("after the removes", func(string) bool { return false })
	return problems
}
