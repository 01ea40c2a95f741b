package rtmpserver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

// The most the server process may use while strangers attack it.
const maxServerRSS = 100 << 20

// RTMP message types an attacker sends.
const (
	msgSetChunkSize = 1
	msgVideo        = 9
	msgCommand      = 20
)

// Strangers attack `master serve-rtmp` while ffmpeg publishes to it with the
// key and ffmpeg plays it: keyless players that send endless half-finished
// messages, too many chunk streams, a huge chunk size or video, and then
// 1000 connections at once. Each attacker is dropped, the flood is turned
// away, the server stays small, and the publisher and the player lose
// nothing.
func TestStrangersCannotGrowTheServer(t *testing.T) {
	t.Parallel()
	testpeer.Need(t, "ffmpeg")
	master := testpeer.GoBuild(t, "./cmd/master")
	home := t.TempDir()
	var logMu sync.Mutex
	var log []string
	srv := testpeer.StartProgram(t, func(l string) {
		logMu.Lock()
		log = append(log, l)
		logMu.Unlock()
	}, []string{"XDG_CONFIG_HOME=" + home}, master, "serve-rtmp", "-listen", "127.0.0.1:0")
	logged := func(re string) []string {
		logMu.Lock()
		defer logMu.Unlock()
		var found []string
		for _, l := range log {
			if regexp.MustCompile(re).MatchString(l) {
				found = append(found, l)
			}
		}
		return found
	}
	var play string
	testpeer.Await(t, 10*time.Second, "serve-rtmp ready", func() bool {
		if m := logged(`Watch with:\s+ffplay \S+`); m != nil {
			play = strings.Fields(m[0])[3]
		}
		return play != ""
	})
	keyBytes, err := os.ReadFile(filepath.Join(home, "onair", "stream-key"))
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.Split(strings.TrimPrefix(play, "rtmp://"), "/")[0]

	// Sample the server's memory throughout; past the limit, attackers stop
	// so the machine is not exhausted.
	var peak atomic.Int64
	tooBig := make(chan struct{})
	sampled := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss, err := testpeer.RSS(srv.PID()); err == nil && rss > peak.Load() {
				peak.Store(rss)
				if rss > maxServerRSS && !isClosed(tooBig) {
					close(tooBig)
				}
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()
	testpeer.Await(t, 5*time.Second, "the first memory sample", func() bool { return peak.Load() > 0 })
	t.Logf("server RSS at start: %d MiB", peak.Load()>>20)

	// 720p, so keyframes are bigger than what a stranger may send.
	clip := testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 8, Width: 1280, Height: 720})
	player := testpeer.StartReader(t, play, testpeer.ReaderOptions{})
	testpeer.Await(t, 10*time.Second, "the player to join", func() bool { return logged("player joined") != nil })
	pub := testpeer.PublishClip(t, clip, 30, strings.TrimSuffix(play, "program")+strings.TrimSpace(string(keyBytes)), true)
	testpeer.Await(t, 10*time.Second, "the player's first frame", func() bool { return player.Count() > 0 })

	attacks := []struct {
		name string
		send func(a *attacker)
	}{
		{"a message larger than allowed", func(a *attacker) {
			a.send(setChunkSize(65536))
			for csid := 3; ; csid++ {
				if !a.sendMessage(csid, msgCommand, 0, 0xffffff, 255*65536, 65536) {
					return
				}
			}
		}},
		{"many chunk streams", func(a *attacker) {
			for csid := 3; csid < 65600; csid++ {
				if !a.sendMessage(csid, msgCommand, 0, 1000, 7*128, 128) {
					return
				}
			}
		}},
		{"many half-sent messages", func(a *attacker) {
			a.send(setChunkSize(32768))
			for csid := 3; csid < 65600; csid++ {
				if !a.sendMessage(csid, msgCommand, 0, 60000, 32768, 32768) {
					return
				}
			}
		}},
		{"a huge chunk size", func(a *attacker) {
			a.send(setChunkSize(math.MaxInt32)) // taken as 0xffffff, the most RTMP allows
			a.sendMessage(3, msgCommand, 0, 0xffffff, 0xffffff-1, 0xffffff)
		}},
		{"video from a player", func(a *attacker) {
			a.send(setChunkSize(65536))
			for a.sendMessage(7, msgVideo, 1, 60000, 60000, 65536) {
			}
		}},
	}
	for _, at := range attacks {
		for round := 0; round < 3; round++ {
			a := dialPlayer(t, addr, tooBig)
			at.send(a)
			dropped := testpeer.Eventually(5*time.Second, func() bool { return isClosed(a.dropped) })
			switch {
			case isClosed(tooBig):
				t.Fatalf("%s: the server grew past %d MiB", at.name, maxServerRSS>>20)
			case !dropped:
				t.Errorf("%s: the server took %d MiB without dropping the client", at.name, a.sent>>20)
			default:
				a.c.Close()
			}
		}
	}
	t.Logf("attackers done, server RSS peak %d MiB", peak.Load()>>20)

	// 1000 connections at once: all but a few are turned away.
	const flood = 1000
	var wg sync.WaitGroup
	var admitted, turnedAway atomic.Int32
	conns := make(chan net.Conn, flood)
	for range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			conns <- c
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write(make([]byte, 1+1536)); err == nil {
				_, err = io.ReadFull(c, make([]byte, 1+1536+1536))
				if err == nil {
					admitted.Add(1)
					return
				}
			}
			turnedAway.Add(1)
		}()
	}
	wg.Wait()
	close(conns)
	for c := range conns {
		c.Close()
	}
	t.Logf("flood: %d admitted, %d turned away", admitted.Load(), turnedAway.Load())
	if admitted.Load() > 10 {
		t.Errorf("%d of %d connections from one address admitted", admitted.Load(), flood)
	}

	if err := pub.Wait(30 * time.Second); err != nil {
		t.Errorf("publisher: %v\n%s", err, pub.Output())
	}
	close(stopSampling)
	<-sampled
	frames := player.WaitFrames(240, 3*time.Second, 20*time.Second)
	t.Logf("server RSS peak %d MiB; player decoded %d of 240 frames", peak.Load()>>20, len(frames))
	if peak.Load() > maxServerRSS {
		t.Errorf("server RSS peaked at %d MiB, want under %d", peak.Load()>>20, maxServerRSS>>20)
	}
	if len(frames) < 240 {
		t.Errorf("player decoded %d of 240 frames", len(frames))
	}
	if n := len(logged("rtmp server: publishing")); n != 1 {
		t.Errorf("%d publish sessions, want 1", n)
	}
	for _, want := range []string{"client dropped", "connection turned away"} {
		if logged(want) == nil {
			t.Errorf("the server's log does not say %q", want)
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// attacker is a raw RTMP client that plays without a key, then misbehaves.
type attacker struct {
	t       *testing.T
	c       net.Conn
	stop    chan struct{} // the server grew too much
	dropped chan struct{} // the server closed the connection
	playing chan struct{} // the server answered NetStream.Play.Start
	sent    int64
}

// attackBytes is how much an attacker sends at most on one connection.
const attackBytes = 96 << 20

func dialPlayer(t *testing.T, addr string, stop chan struct{}) *attacker {
	t.Helper()
	a := dial(t, addr, stop)
	a.send(chunk(3, msgCommand, 0, amf("connect", 1.0, map[string]string{"app": "live", "tcUrl": "rtmp://" + addr + "/live"})))
	a.send(chunk(3, msgCommand, 0, amf("createStream", 2.0, nil)))
	a.send(chunk(8, msgCommand, 1, amf("play", 0.0, nil, "program")))
	select {
	case <-a.playing:
	case <-a.dropped:
		t.Fatal("the server closed a keyless player before it played")
	case <-time.After(10 * time.Second):
		t.Fatal("no NetStream.Play.Start")
	}
	return a
}

// dial connects and does the RTMP handshake.
func dial(t *testing.T, addr string, stop chan struct{}) *attacker {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	a := &attacker{t: t, c: c, stop: stop, dropped: make(chan struct{}), playing: make(chan struct{})}
	// Handshake: C0 C1, read S0 S1 S2, echo S1 as C2.
	if _, err := c.Write(append([]byte{3}, make([]byte, 1536)...)); err != nil {
		t.Fatal(err)
	}
	s := make([]byte, 1+1536+1536)
	if _, err := io.ReadFull(c, s); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if _, err := c.Write(s[1 : 1+1536]); err != nil {
		t.Fatal(err)
	}
	go a.drain()
	return a
}

// drain reads what the server sends, as a player would.
func (a *attacker) drain() {
	defer close(a.dropped)
	var tail []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := a.c.Read(buf)
		if len(tail) < 64<<10 {
			tail = append(tail, buf[:n]...)
			if bytes.Contains(tail, []byte("NetStream.Play.Start")) && !isClosed(a.playing) {
				close(a.playing)
				tail = buf[:0:0]
			}
		}
		if err != nil {
			return
		}
	}
}

// send writes b unless the attack is over; it says whether it wrote.
func (a *attacker) send(b []byte) bool {
	if isClosed(a.stop) || isClosed(a.dropped) || a.sent >= attackBytes {
		return false
	}
	_ = a.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	n, err := a.c.Write(b)
	a.sent += int64(n)
	return err == nil
}

// sendMessage starts a message of the given length on csid and sends sent
// bytes of it, in chunks of chunkSize. Unless sent is the whole message, a
// chunk stream may follow only if sent is a multiple of chunkSize.
func (a *attacker) sendMessage(csid int, typeID byte, streamID uint32, length, sent, chunkSize int) bool {
	if !a.send(chunkHeader(0, csid, typeID, streamID, length)) {
		return false
	}
	payload := make([]byte, min(chunkSize, 64<<10))
	for done := 0; done < sent; {
		if done > 0 && done%chunkSize == 0 && !a.send(chunkHeader(3, csid, 0, 0, 0)) {
			return false
		}
		n := min(len(payload), sent-done, chunkSize-done%chunkSize)
		if !a.send(payload[:n]) {
			return false
		}
		done += n
	}
	return true
}

func chunkHeader(format byte, csid int, typeID byte, streamID uint32, length int) []byte {
	var h []byte
	switch {
	case csid < 64:
		h = []byte{format<<6 | byte(csid)}
	case csid < 320:
		h = []byte{format << 6, byte(csid - 64)}
	default:
		h = []byte{format<<6 | 1, byte((csid - 64) & 0xff), byte((csid - 64) >> 8)}
	}
	if format == 0 {
		h = append(h, 0, 0, 0, byte(length>>16), byte(length>>8), byte(length), typeID)
		h = binary.LittleEndian.AppendUint32(h, streamID)
	}
	return h
}

// chunk is a whole message in one chunk (at most 128 bytes, the default
// chunk size).
func chunk(csid int, typeID byte, streamID uint32, payload []byte) []byte {
	if len(payload) > 128 {
		panic(fmt.Sprintf("message of %d bytes", len(payload)))
	}
	return append(chunkHeader(0, csid, typeID, streamID, len(payload)), payload...)
}

func setChunkSize(n uint32) []byte {
	return chunk(2, msgSetChunkSize, 0, binary.BigEndian.AppendUint32(nil, n))
}

// amf encodes AMF0 values: strings, numbers, nil and string maps.
func amf(values ...any) []byte {
	var b []byte
	str := func(s string) { b = binary.BigEndian.AppendUint16(b, uint16(len(s))); b = append(b, s...) }
	for _, v := range values {
		switch v := v.(type) {
		case string:
			b = append(b, 0x02)
			str(v)
		case float64:
			b = append(b, 0x00)
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(v))
		case map[string]string:
			b = append(b, 0x03)
			for k, s := range v {
				str(k)
				b = append(b, 0x02)
				str(s)
			}
			b = append(b, 0, 0, 9)
		case nil:
			b = append(b, 0x05)
		default:
			panic(errors.New("amf: unsupported value"))
		}
	}
	return b
}
