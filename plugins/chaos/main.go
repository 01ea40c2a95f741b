// Command chaos is an OnAir overlay plugin that misbehaves on command, to
// show (and test) that a bad plugin takes only itself down. It is written
// against the gRPC contract (stub/proto/plugin.proto) directly rather than
// through the SDK, as a plugin in another language would be, so it can send
// frames the SDK would never produce.
//
// Parameters: mode=ok|crash|hang|garbage; after=DURATION (behave that long
// after each Configure before misbehaving); garbage=KIND picks the bad frame.
package main

import (
	"context"
	"fmt"
	"image"
	"os"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/plugins/sdk"
	"github.com/onair-studio/onair/stub"
	"github.com/onair-studio/onair/stub/pb"
)

var info = sdk.Info{
	Name: "chaos", Version: "1.0.0", Kind: sdk.KindOverlay,
	Description: "Draws a square, then crashes, hangs or sends malformed frames on command.",
	Params: []sdk.Param{
		{Name: "mode", Type: sdk.TypeString, Default: "ok", Choices: []string{"ok", "crash", "hang", "garbage"},
			Description: "ok: draw a square; crash: panic; hang: never answer Render or OnEvent; garbage: send a malformed frame"},
		{Name: "after", Type: sdk.TypeDuration, Default: "0s", Description: "behave this long after each Configure before misbehaving"},
		{Name: "garbage", Type: sdk.TypeString, Default: "length",
			Choices:     []string{"length", "offscreen", "huge", "negative", "straight", "opacity"},
			Description: "length: rgba too short; offscreen: past the right edge; huge: 1048576 pixels wide; negative: x<0; straight: colour above alpha; opacity: 2"},
		{Name: "size", Type: sdk.TypeInt, Default: "64", Description: "side of the square in pixels"},
		{Name: "position", Type: sdk.TypePosition, Default: "top-left", Description: "where the square goes"},
		{Name: "color", Type: sdk.TypeColor, Default: "#ff00ff", Description: "colour of the square"},
	},
}

type chaos struct {
	pb.UnimplementedPluginServer
	mu      sync.Mutex
	params  map[string]string
	since   time.Time
	sentFor [2]int32 // output size the square was last sent for
}

func (c *chaos) Info(context.Context, *pb.InfoRequest) (*pb.PluginInfo, error) {
	return sdk.InfoProto(info), nil
}

func (c *chaos) Configure(_ context.Context, cfg *pb.PluginConfig) (*pb.PluginConfigReply, error) {
	p, err := sdk.Resolve(info.Params, cfg.GetParams())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.params, c.since, c.sentFor = p, time.Now(), [2]int32{}
	return &pb.PluginConfigReply{}, nil
}

// misbehaving says whether the mode applies now, and which mode.
func (c *chaos) misbehaving() (string, map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	after, _ := time.ParseDuration(c.params["after"])
	mode := c.params["mode"]
	if mode == "ok" || time.Since(c.since) < after {
		return "ok", c.params
	}
	return mode, c.params
}

func (c *chaos) Render(_ context.Context, req *pb.RenderRequest) (*pb.RenderReply, error) {
	mode, p := c.misbehaving()
	switch mode {
	case "crash":
		fmt.Fprintln(os.Stderr, "chaos: crashing on command")
		panic("chaos: crash on command")
	case "hang":
		fmt.Fprintln(os.Stderr, "chaos: hanging on command")
		select {}
	case "garbage":
		return garbage(p["garbage"], req), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !req.GetResend() && c.sentFor == [2]int32{req.GetWidth(), req.GetHeight()} {
		return &pb.RenderReply{}, nil
	}
	c.sentFor = [2]int32{req.GetWidth(), req.GetHeight()}
	return square(p, req), nil
}

func square(p map[string]string, req *pb.RenderRequest) *pb.RenderReply {
	size, _ := strconv.Atoi(p["size"])
	size = max(1, min(size, int(req.GetWidth()), int(req.GetHeight())))
	col, _ := sdk.ParseColor(p["color"])
	pos, _ := sdk.ParsePosition(p["position"])
	at := pos.Place(image.Pt(size, size), image.Pt(int(req.GetWidth()), int(req.GetHeight())), 0)
	at.X = min(at.X, int(req.GetWidth())-size)
	at.Y = min(at.Y, int(req.GetHeight())-size)
	rgba := make([]byte, size*size*4)
	for i := 0; i < len(rgba); i += 4 {
		rgba[i], rgba[i+1], rgba[i+2], rgba[i+3] = col.R, col.G, col.B, col.A
	}
	return &pb.RenderReply{Changed: true, X: int32(at.X), Y: int32(at.Y), Width: int32(size), Height: int32(size),
		Rgba: rgba, Opacity: proto.Float64(1)}
}

// garbage returns a malformed frame of the given kind.
func garbage(kind string, req *pb.RenderRequest) *pb.RenderReply {
	const s = 16
	good := make([]byte, s*s*4)
	for i := range good {
		good[i] = 0xff
	}
	r := &pb.RenderReply{Changed: true, Width: s, Height: s, Rgba: good}
	switch kind {
	case "length":
		r.Rgba = good[:len(good)-s*4]
	case "offscreen":
		r.X = req.GetWidth() - s/2
	case "huge":
		r.Width, r.Height = 1<<20, 1<<20
	case "negative":
		r.X = -10
	case "straight":
		good[3] = 0x80
	case "opacity":
		r.Opacity = proto.Float64(2)
	}
	return r
}

func (c *chaos) OnEvent(context.Context, *pb.PluginEvent) (*pb.OnEventReply, error) {
	switch mode, _ := c.misbehaving(); mode {
	case "crash":
		panic("chaos: crash on command")
	case "hang":
		select {}
	}
	return &pb.OnEventReply{}, nil
}

func main() {
	h := stub.PluginHandshake
	if os.Getenv(h.MagicCookieKey) != h.MagicCookieValue {
		sdk.Describe(os.Stderr, info)
		os.Exit(2)
	}
	stub.ServePlugin(&chaos{params: map[string]string{"mode": "ok"}})
}
