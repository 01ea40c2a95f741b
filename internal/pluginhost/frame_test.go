package pluginhost

import (
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/stub/pb"
)

func TestCheckFrame(t *testing.T) {
	px := func(n int, v byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = v
		}
		return b
	}
	for _, c := range []struct {
		name string
		r    *pb.RenderReply
		want string // "" means accepted
	}{
		{"good", &pb.RenderReply{X: 630, Y: 350, Width: 10, Height: 10, Rgba: px(400, 7)}, ""},
		{"empty", &pb.RenderReply{}, ""},
		{"opacity", &pb.RenderReply{Width: 1, Height: 1, Rgba: px(4, 0), Opacity: proto.Float64(0.5)}, ""},
		{"short", &pb.RenderReply{Width: 10, Height: 10, Rgba: px(399, 0)}, "rgba is 399 bytes, want 10x10x4 = 400"},
		{"long", &pb.RenderReply{Width: 1, Height: 1, Rgba: px(8, 0)}, "rgba is 8 bytes"},
		{"right edge", &pb.RenderReply{X: 631, Width: 10, Height: 10, Rgba: px(400, 0)}, "not inside the 640x360 output"},
		{"bottom edge", &pb.RenderReply{Y: 351, Width: 10, Height: 10, Rgba: px(400, 0)}, "not inside"},
		{"negative x", &pb.RenderReply{X: -1, Width: 1, Height: 1, Rgba: px(4, 0)}, "not inside"},
		{"negative size", &pb.RenderReply{Width: -1, Height: 1}, "negative size"},
		{"huge", &pb.RenderReply{Width: 1 << 30, Height: 1 << 30}, "absurd size"},
		{"overflow", &pb.RenderReply{X: math.MaxInt32, Width: 10, Height: 10, Rgba: px(400, 0)}, "not inside"},
		{"nan", &pb.RenderReply{Width: 1, Height: 1, Rgba: px(4, 0), Opacity: proto.Float64(math.NaN())}, "opacity NaN"},
		{"straight", &pb.RenderReply{Width: 2, Height: 1, Rgba: []byte{0, 0, 0, 0, 9, 0, 0, 8}}, "pixel 1,0 has a colour above its alpha"},
	} {
		_, err := checkFrame(c.r, 640, 360)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}
