package rtmpserver

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	rtmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/message"

	"github.com/onair-studio/onair/internal/output/rtmpwire"
)

// Chunk streams for media, as nginx-rtmp uses them.
const (
	csidControl = 2
	csidData    = 5
	csidAudio   = 6
	csidVideo   = 7
)

// player is one client playing a stream. The stream pushes packets into its
// bounded queue; its own goroutine writes them. A player that cannot keep up
// loses what is queued and waits for the next keyframe, so it never slows the
// publisher or the other players.
type player struct {
	c        *conn
	rc       *rtmp.Conn
	streamID uint32
	max      int
	ping     time.Duration // how often to ping the client
	log      *slog.Logger
	onDrop   func(n int)

	mu      sync.Mutex
	queue   []*packet
	spare   []*packet
	waitKey bool
	wake    chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// owned by the writer goroutine: this player's own timeline, which
	// continues across publish sessions
	started bool
	epoch   uint64
	offset  int64
	last    int64
}

func newPlayer(c *conn, rc *rtmp.Conn, streamID uint32, max int, ping time.Duration, log *slog.Logger, onDrop func(int)) *player {
	pl := &player{c: c, rc: rc, streamID: streamID, max: max, ping: ping, log: log, onDrop: onDrop,
		waitKey: true, wake: make(chan struct{}, 1), done: make(chan struct{})}
	pl.ctx, pl.cancel = context.WithCancel(context.Background())
	return pl
}

// enqueue never blocks. Sequence headers and metadata always get through.
func (pl *player) enqueue(p *packet) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if len(pl.queue) >= pl.max {
		// Keep the latest configuration of each kind (metadata, video, audio).
		var kept []*packet
	next:
		for _, q := range pl.queue {
			if !q.config {
				continue
			}
			for i, k := range kept {
				if k.typeID == q.typeID {
					kept[i] = q
					continue next
				}
			}
			kept = append(kept, q)
		}
		pl.onDrop(len(pl.queue) - len(kept))
		clear(pl.queue)
		pl.queue = append(pl.queue[:0], kept...)
		pl.waitKey = true
	}
	switch {
	case p.config:
	case p.key:
		pl.waitKey = false
	case pl.waitKey:
		pl.onDrop(1)
		return
	}
	pl.queue = append(pl.queue, p)
	select {
	case pl.wake <- struct{}{}:
	default:
	}
}

func (pl *player) take() []*packet {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	q := pl.queue
	clear(pl.spare)
	pl.queue = pl.spare[:0]
	pl.spare = q
	return q
}

// run writes queued packets until the player is cancelled or a write fails;
// a failed write closes the connection (go-rtmp then ends the session). It
// pings the client now and then, as players answer pings (as nginx-rtmp
// does): a player that answers nothing is dropped (see conn.idle).
func (pl *player) run() {
	defer close(pl.done)
	ping := time.NewTicker(pl.ping)
	defer ping.Stop()
	start := time.Now()
	err := pl.write(csidControl, 0, 0, &message.UserCtrl{Event: &message.UserCtrlEventStreamBegin{StreamID: pl.streamID}})
	for err == nil {
		select {
		case <-pl.ctx.Done():
			return
		case <-ping.C:
			err = pl.write(csidControl, 0, 0, &message.UserCtrl{Event: &message.UserCtrlEventPingRequest{Timestamp: uint32(time.Since(start).Milliseconds())}})
			continue
		case <-pl.wake:
		}
		for _, p := range pl.take() {
			if err = pl.ctx.Err(); err != nil {
				return
			}
			if err = pl.send(p); err != nil {
				break
			}
		}
	}
	if pl.ctx.Err() == nil {
		pl.log.Info("rtmp server: player dropped", "remote", pl.c.remote, "err", err)
		pl.c.Close()
	}
}

func (pl *player) send(p *packet) error {
	r := bytes.NewReader(p.payload)
	if p.typeID == typeData {
		// At timestamp 0 whatever the publisher used: FFmpeg's FLV reader
		// takes a script tag at any other time for a subtitle stream.
		return pl.write(csidData, 0, pl.streamID, &message.DataMessage{Name: "onMetaData", Encoding: message.EncodingTypeAMF0, Body: r})
	}
	ts := pl.timestamp(p)
	switch p.typeID {
	case typeAudio:
		return pl.write(csidAudio, ts, pl.streamID, &message.AudioMessage{Payload: r})
	default:
		return pl.write(csidVideo, ts, pl.streamID, &message.VideoMessage{Payload: r})
	}
}

// timestamp passes the publisher's timestamps through, except that a new
// publish session continues this player's timeline instead of jumping back.
func (pl *player) timestamp(p *packet) uint32 {
	ts := int64(p.ts)
	if !pl.started {
		pl.started, pl.epoch = true, p.epoch
	}
	if p.epoch != pl.epoch {
		pl.epoch = p.epoch
		pl.offset = pl.last + 1 - ts
	}
	out := max(ts+pl.offset, 0)
	pl.last = max(pl.last, out)
	return uint32(out)
}

var errClosed = errors.New("connection closed")

// write sends one message, taking turns with go-rtmp's read loop (see conn).
func (pl *player) write(csid int, ts uint32, streamID uint32, m message.Message) error {
	pl.c.mu.Lock()
	defer pl.c.mu.Unlock()
	// A dead chunk writer must be noticed before writing: go-rtmp would
	// queue into it until its queue is full, then block for good.
	select {
	case <-pl.rc.GetChunkStreamer().Done():
		if err := pl.rc.GetChunkStreamer().Err(); err != nil {
			return rtmpwire.PlainError(err)
		}
		return errClosed
	default:
	}
	return rtmpwire.PlainError(pl.rc.Write(pl.ctx, csid, ts, &rtmp.ChunkMessage{StreamID: streamID, Message: m}))
}
