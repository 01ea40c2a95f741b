package rtmpserver

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	rtmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/message"

	"github.com/onair-studio/onair/internal/output"
)

// handler serves one connection; go-rtmp calls it from the connection's read
// loop, one call at a time.
type handler struct {
	rtmp.DefaultHandler
	srv    *Server
	c      *conn
	rc     *rtmp.Conn
	pub    bool    // publishing srv.stream
	player *player // playing srv.stream
}

var _ rtmp.Handler = (*handler)(nil)

func (h *handler) kick()              { h.c.Close() }
func (h *handler) remoteAddr() string { return h.c.remote }

func (h *handler) OnServe(rc *rtmp.Conn) {
	h.rc = rc
	// Nothing has been written yet, so the chunk writer goroutine cannot be
	// reading the chunk size while it changes.
	if err := rc.GetChunkStreamer().SelfState().SetChunkSize(chunkSize); err == nil {
		_ = rc.Write(context.Background(), csidControl, 0, &rtmp.ChunkMessage{Message: &message.SetChunkSize{ChunkSize: chunkSize}})
	}
}

func (h *handler) OnConnect(_ uint32, cmd *message.NetConnectionConnect) error {
	app := strings.Trim(stripQuery(cmd.Command.App), "/")
	if app != h.srv.cfg.App {
		h.srv.refused("connect", h.c, fmt.Sprintf("unknown application %q", app))
		return fmt.Errorf("unknown application %q", app)
	}
	return nil
}

func (h *handler) OnPublish(_ *rtmp.StreamContext, _ uint32, cmd *message.NetStreamPublish) error {
	key := stripQuery(cmd.PublishingName)
	if !sameSecret(key, h.srv.cfg.Key) {
		h.srv.refused("publish", h.c, "wrong stream key "+output.MaskKey(key))
		return errors.New("wrong stream key")
	}
	if h.pub || h.player != nil {
		return errors.New("already publishing or playing")
	}
	h.c.setupDeadline(0)
	h.c.guard.publisher = true
	h.pub = true
	if old := h.srv.stream.setPublisher(h); old != nil {
		// The same key again: most likely our own publisher reconnecting
		// before the server noticed the old connection died.
		h.srv.log.Info("rtmp server: new publisher replaces the old one", "old", old.remoteAddr(), "new", h.c.remote)
		old.kick()
	}
	h.srv.publishes.Add(1)
	h.srv.log.Info("rtmp server: publishing", "remote", h.c.remote, "stream", h.srv.masked())
	return nil
}

func (h *handler) OnPlay(ctx *rtmp.StreamContext, _ uint32, cmd *message.NetStreamPlay) error {
	name, want := stripQuery(cmd.StreamName), h.srv.cfg.PlayName
	if want == "" {
		want = h.srv.cfg.Key
	}
	if !sameSecret(name, want) { // the play name may be the key
		h.srv.refused("play", h.c, "unknown stream "+output.MaskKey(name))
		return errors.New("unknown stream")
	}
	if h.pub || h.player != nil {
		return errors.New("already publishing or playing")
	}
	h.c.setupDeadline(0)
	h.c.idle = h.srv.cfg.PlayerTimeout
	h.player = newPlayer(h.c, h.rc, ctx.StreamID, h.srv.cfg.PlayerQueue, max(h.srv.cfg.PlayerTimeout/3, time.Millisecond), h.srv.log, h.srv.dropped)
	h.srv.stream.addPlayer(h.player)
	go h.player.run()
	h.srv.plays.Add(1)
	h.srv.log.Info("rtmp server: player joined", "remote", h.c.remote)
	return nil
}

func (h *handler) OnSetDataFrame(ts uint32, data *message.NetStreamSetDataFrame) error {
	if h.pub {
		if body, ok := metadataBody(data.Payload); ok {
			h.srv.stream.write(h, typeData, ts, body)
		}
	}
	return nil
}

func (h *handler) OnAudio(ts uint32, payload io.Reader) error {
	return h.relay(typeAudio, ts, payload)
}

func (h *handler) OnVideo(ts uint32, payload io.Reader) error {
	if h.pub {
		h.srv.frames.Add(1)
	}
	return h.relay(typeVideo, ts, payload)
}

func (h *handler) relay(typeID byte, ts uint32, payload io.Reader) error {
	if !h.pub {
		return nil
	}
	// go-rtmp reuses the buffer behind payload: copy.
	b, err := io.ReadAll(payload)
	if err != nil {
		return err
	}
	h.srv.stream.write(h, typeID, ts, b)
	return nil
}

func (h *handler) OnDeleteStream(_ uint32, _ *message.NetStreamDeleteStream) error {
	h.stop()
	return nil
}

func (h *handler) OnFCUnpublish(_ uint32, _ *message.NetStreamFCUnpublish) error {
	h.stop()
	return nil
}

// OnClose runs in the read loop once the connection is done; with the
// connection's lock released it can wait for the player's writer to end.
func (h *handler) OnClose() {
	h.c.release()
	h.stop()
	if h.player != nil {
		<-h.player.done
	}
	h.srv.untrack(h.c)
}

// stop ends publishing or playing; players stay for the next publisher. It
// may run while the read loop holds the connection's lock, so it only tells
// the player's writer to stop and does not wait for it.
func (h *handler) stop() {
	if h.pub {
		h.pub = false
		h.srv.stream.unpublish(h)
		h.srv.log.Info("rtmp server: publisher left", "remote", h.c.remote)
	}
	if h.player != nil && h.player.ctx.Err() == nil {
		h.srv.stream.removePlayer(h.player)
		h.player.cancel()
		h.srv.log.Info("rtmp server: player left", "remote", h.c.remote)
	}
}

// sameSecret compares a client's key with ours in constant time, so that
// the time an answer takes says nothing about how much of a guess was right.
func sameSecret(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func stripQuery(s string) string {
	s, _, _ = strings.Cut(s, "?")
	return s
}

// metadataBody takes the object after the "onMetaData" name in the payload
// of @setDataFrame, which is what players receive as onMetaData.
func metadataBody(p []byte) ([]byte, bool) {
	if len(p) < 3 || p[0] != 0x02 { // AMF0 string
		return nil, false
	}
	n := int(p[1])<<8 | int(p[2])
	if len(p) < 3+n || !bytes.Equal(p[3:3+n], []byte("onMetaData")) {
		return nil, false
	}
	return append([]byte(nil), p[3+n:]...), true
}
