package rtsp

import (
	"bytes"
	"io"
	"net"
	"testing"

	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/pion/rtcp"
)

// A picture's RTP packets leave the encoder in one write, so the master
// wakes once for it; an RTCP report or an RTSP request leaves at once,
// after what was held, in order.
func TestAccessUnitLeavesInOneWrite(t *testing.T) {
	near, far := net.Pipe() // each read returns at most one write
	defer far.Close()
	c := &unitConn{Conn: near}

	enc := &rtph264.Encoder{PayloadType: videoPayloadType}
	if err := enc.Init(); err != nil {
		t.Fatal(err)
	}
	idr := append([]byte{0x65}, bytes.Repeat([]byte{0xab}, 20000)...)
	pkts, err := enc.Encode([][]byte{idr})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) < 10 {
		t.Fatalf("a 20 kB picture made %d packets, want many", len(pkts))
	}
	frame := func(channel int, payload []byte) []byte {
		fr := base.InterleavedFrame{Channel: channel, Payload: payload}
		buf := make([]byte, fr.MarshalSize())
		n, err := fr.MarshalTo(buf)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}
	var picture []byte
	var writes [][]byte
	for _, pkt := range pkts {
		raw, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		picture = append(picture, frame(0, raw)...)
		writes = append(writes, frame(0, raw))
	}
	// The start of the next picture, then a sender report: both go together.
	head := pkts[0]
	head.Marker = false
	rawHead, _ := head.Marshal()
	sr, _ := (&rtcp.SenderReport{SSRC: 1}).Marshal()
	report := append(frame(0, rawHead), frame(1, sr)...)
	writes = append(writes, frame(0, rawHead), frame(1, sr))
	request := []byte("GET_PARAMETER rtsp://127.0.0.1/program RTSP/1.0\r\nCSeq: 5\r\n\r\n")
	writes = append(writes, request)

	go func() {
		defer near.Close()
		for _, w := range writes {
			if _, err := c.Write(w); err != nil {
				return
			}
		}
	}()
	var reads [][]byte
	buf := make([]byte, 1<<20)
	for {
		n, err := far.Read(buf)
		if n > 0 {
			reads = append(reads, bytes.Clone(buf[:n]))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	want := [][]byte{picture, report, request}
	if len(reads) != len(want) {
		t.Fatalf("%d writes of %d packets, an RTCP report and a request reached the master in %d reads, want %d",
			len(pkts), len(writes)-len(pkts)-1, len(reads), len(want))
	}
	for i := range want {
		if !bytes.Equal(reads[i], want[i]) {
			t.Fatalf("read %d: %d bytes, want %d", i, len(reads[i]), len(want[i]))
		}
	}
}
