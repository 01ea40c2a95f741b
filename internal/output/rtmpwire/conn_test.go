package rtmpwire

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// countingConn counts the writes that reach the socket.
type countingConn struct {
	net.Conn
	writes int
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes++
	return c.Conn.Write(b)
}

// chunk0 is a type-0 chunk header: a message of length bytes and type typ
// starts on chunk stream csid.
func chunk0(csid byte, length int, typ byte) []byte {
	return []byte{csid, 0, 0, 0, byte(length >> 16), byte(length >> 8), byte(length), typ, 1, 0, 0, 0}
}

// A picture that go-rtmp writes as several chunks reaches the peer in one
// write of the socket, unchanged, and a message on another chunk stream
// written between its chunks waits for it; the handshake and control
// messages go at once.
func TestConnWritesWholeMessages(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dialed, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer dialed.Close()
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	sock := &countingConn{Conn: dialed}
	c := NewConn(sock, 5*time.Second)

	var sent bytes.Buffer
	write := func(what string, b []byte, wantWrites int) {
		t.Helper()
		sent.Write(b)
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		if sock.writes != wantWrites {
			t.Fatalf("after %s: %d writes to the socket, want %d", what, sock.writes, wantWrites)
		}
	}
	write("the handshake", make([]byte, HandshakeSize), 1)
	write("Set Chunk Size", append(chunk0(2, 4, typeSetChunkSize), 0, 0, 0x10, 0), 2) // 4096
	video := bytes.Repeat([]byte{0x17}, 10000)
	write("the picture's first chunk", append(chunk0(6, len(video), 9), video[:4096]...), 2)
	write("a sound message between its chunks", append(chunk0(4, 5, 8), 0xaf, 1, 2, 3, 4), 2)
	write("the picture's second chunk", append([]byte{0xc6}, video[4096:8192]...), 2)
	write("the picture's last chunk", append([]byte{0xc6}, video[8192:]...), 3)
	write("the next sound message", append(chunk0(4, 5, 8), 0xaf, 1, 5, 6, 7), 4)

	got := make([]byte, sent.Len())
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sent.Bytes()) {
		t.Error("the peer received other bytes than were written")
	}
}

// A message longer than flushAt goes out in pieces rather than waiting
// whole in memory.
func TestConnBoundsWhatItHolds(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go io.Copy(io.Discard, b)
	sock := &countingConn{Conn: a}
	c := NewConn(sock, 5*time.Second)
	if _, err := c.Write(make([]byte, HandshakeSize)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(append(chunk0(2, 4, typeSetChunkSize), 0, 0, 0x10, 0)); err != nil {
		t.Fatal(err)
	}
	const size = 3 * flushAt
	if _, err := c.Write(append(chunk0(6, size, 9), make([]byte, 4096)...)); err != nil {
		t.Fatal(err)
	}
	for rest := size - 4096; rest > 0; rest -= 4096 {
		if _, err := c.Write(append([]byte{0xc6}, make([]byte, min(rest, 4096))...)); err != nil {
			t.Fatal(err)
		}
		if len(c.held) > flushAt+4097 {
			t.Fatalf("%d bytes held back", len(c.held))
		}
	}
	if len(c.held) != 0 {
		t.Errorf("%d bytes still held after the message ended", len(c.held))
	}
	if sock.writes < 2+3 || sock.writes > 2+4 {
		t.Errorf("%d writes for a message of %d bytes, want about %d", sock.writes-2, size, size/flushAt)
	}
}
