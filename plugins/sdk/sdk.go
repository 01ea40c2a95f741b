// Package sdk is what an OnAir plugin imports. A plugin is its own program:
// it implements Plugin and calls Serve from main. The pluginhost starts it,
// asks for its Info, configures it with the parameters the user set, and then
// renders it about ten times a second (overlay plugins), hands it every
// frame of a layer or of the program through shared memory (filter plugins,
// see Filter) and tells it about studio events. A plugin that crashes or hangs takes only itself down; the
// pluginhost restarts it.
//
//	type hello struct{ sdk.Base }
//
//	func (hello) Info() sdk.Info { return sdk.Info{Name: "hello", Version: "1.0", Kind: sdk.KindOverlay} }
//
//	func (hello) Render(_ context.Context, out image.Point) (sdk.Frame, error) {
//		img := sdk.Text("hello", 32, sdk.White, sdk.Transparent, 4)
//		return sdk.Frame{Image: img, At: image.Pt(10, 10)}, nil
//	}
//
//	func main() { sdk.Serve(hello{}) }
//
// The SDK never calls a plugin's methods concurrently, so a plugin needs no
// locking of its own. The contract underneath is stub/proto/plugin.proto;
// plugins in other languages implement that directly.
package sdk

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/param"
	"github.com/onair-studio/onair/stub"
	"github.com/onair-studio/onair/stub/pb"
)

// Plugin kinds.
const (
	// KindOverlay plugins are rendered and also receive events.
	KindOverlay = "overlay"
	// KindEvent plugins only receive events.
	KindEvent = "event"
)

// Parameter types. The pluginhost checks values against them before
// Configure, so a plugin can parse its parameters without second-guessing.
const (
	TypeString   = param.String
	TypeInt      = param.Int
	TypeFloat    = param.Float
	TypeBool     = param.Bool
	TypeDuration = param.Duration // Go syntax: 500ms, 2s, 1m30s
	TypeColor    = param.Color    // #rgb, #rrggbb, #rrggbbaa (see ParseColor)
	TypePosition = param.Place    // an anchor or X,Y (see ParsePosition)
)

// ProtocolVersion is the plugin protocol this SDK speaks, sent in the
// handshake: a pluginhost that speaks another refuses the plugin, naming
// both versions.
const ProtocolVersion = stub.PluginProtocolVersion

// Info describes a plugin.
type Info struct {
	// Name and Version are shown in status.
	Name    string
	Version string
	// Kind is KindOverlay, KindEvent or KindFilter.
	Kind        string
	Description string
	// Params is the parameter schema: parameters not listed are refused.
	Params []Param
	// Formats are the pixel formats a filter takes, preferred first
	// (FormatRGBA, FormatI420); only filters set it.
	Formats []string
}

// Param is one parameter a plugin accepts.
type Param struct {
	Name string
	// Type is one of the Type constants.
	Type string
	// Default is used when the configuration leaves the parameter out.
	Default     string
	Description string
	// Choices, when set, are the only values allowed.
	Choices []string
	// Min and Max, when set, bound an int or float parameter (inclusive),
	// written as values of its type: Min: "0".
	Min, Max string
}

// Frame is what Render returns.
type Frame struct {
	// Image is the overlay; nil or empty shows nothing. Its colours are
	// premultiplied by alpha, as image.RGBA's always are. Its own bounds'
	// origin does not matter: At places it.
	Image *image.RGBA
	// At is where the image's top-left corner goes in the output. The part
	// of the image outside the output is cut off.
	At image.Point
	// Opacity (0..1) is applied to the whole overlay when it is composed.
	// The zero value means 1: to hide the overlay, return no Image.
	Opacity float64
}

// Event is something that happened in the studio: Kind is stream_started,
// stream_stopped, destination_state (Fields: destination, state, error) or
// child_restarted (Fields: child, reason). Ignore kinds you do not know.
type Event struct {
	Kind   string
	Fields map[string]string
	Time   time.Time
}

// Plugin is what a plugin implements. Embed Base to get do-nothing versions
// of the methods you do not need.
type Plugin interface {
	// Info is asked once after each start.
	Info() Info
	// Configure applies the parameters: every parameter of the schema is
	// present (defaults filled in) and its value has the declared type. It
	// is called after each start and whenever the user changes a value. An
	// error refuses the values: the plugin is shown as failed with it.
	Configure(ctx context.Context, params map[string]string) error
	// Render returns the overlay for an output of the given size. Return
	// the same image when nothing changed: the SDK compares it with the
	// last one and sends only changes. It must answer within 500 ms.
	Render(ctx context.Context, output image.Point) (Frame, error)
	// OnEvent is told about studio events, in order. It must answer within
	// 2 s.
	OnEvent(ctx context.Context, e Event) error
}

// Base implements Configure (accepts anything), Render (shows nothing) and
// OnEvent (ignores it), so an event-only plugin implements just Info and
// OnEvent.
type Base struct{}

func (Base) Configure(context.Context, map[string]string) error { return nil }

func (Base) Render(context.Context, image.Point) (Frame, error) { return Frame{}, nil }

func (Base) OnEvent(context.Context, Event) error { return nil }

// Serve runs p until the pluginhost stops it. Run by hand (not by the
// pluginhost), it prints what the plugin is and exits.
func Serve(p Plugin) {
	h := stub.PluginHandshake
	if os.Getenv(h.MagicCookieKey) != h.MagicCookieValue {
		Describe(os.Stderr, p.Info())
		os.Exit(2)
	}
	stub.ServePlugin(NewServer(p))
}

// Describe writes what a plugin is and which parameters it takes.
func Describe(w io.Writer, i Info) {
	fmt.Fprintf(w, "%s %s: an OnAir %s plugin. %s\n", i.Name, i.Version, i.Kind, i.Description)
	fmt.Fprintf(w, "It is run by the pluginhost: install it into the plugins directory and list it in the\nmaster's configuration (see PLUGINS.md).\n")
	if len(i.Params) > 0 {
		fmt.Fprintln(w, "Parameters:")
	}
	for _, p := range i.Params {
		fmt.Fprintf(w, "  %s (%s, default %q)", p.Name, p.Type, p.Default)
		if len(p.Choices) > 0 {
			fmt.Fprintf(w, " one of %v", p.Choices)
		}
		if p.Min != "" || p.Max != "" {
			fmt.Fprintf(w, " %s", param.RangeHint(p.Type, p.Min, p.Max))
		}
		fmt.Fprintf(w, ": %s\n", p.Description)
	}
}

// NewServer adapts p to the gRPC contract (pb.PluginServer). Serve uses it;
// tests can call it directly.
func NewServer(p Plugin) pb.PluginServer { return &server{p: p} }

type server struct {
	pb.UnimplementedPluginServer
	mu sync.Mutex
	p  Plugin
	// stopFilter ends a filter's frame server (nil: none runs).
	stopFilter func()
	// last is what the last changed reply carried, to tell whether the
	// next frame differs.
	last struct {
		valid   bool
		output  image.Point
		rect    image.Rectangle
		opacity float64
		rgba    []byte
	}
}

func (s *server) Info(context.Context, *pb.InfoRequest) (*pb.PluginInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return InfoProto(s.p.Info()), nil
}

// InfoProto converts i to its wire form.
func InfoProto(i Info) *pb.PluginInfo {
	out := &pb.PluginInfo{Name: i.Name, Version: i.Version, Kind: i.Kind, Description: i.Description, Formats: i.Formats}
	for _, p := range i.Params {
		out.Params = append(out.Params, &pb.PluginParam{Name: p.Name, Type: p.Type, Default: p.Default,
			Description: p.Description, Choices: p.Choices, Min: p.Min, Max: p.Max})
	}
	return out
}

func (s *server) Configure(ctx context.Context, c *pb.PluginConfig) (*pb.PluginConfigReply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	params := c.GetParams()
	if params == nil {
		params = map[string]string{}
	}
	if err := s.p.Configure(ctx, params); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &pb.PluginConfigReply{}, nil
}

func (s *server) OnEvent(ctx context.Context, e *pb.PluginEvent) (*pb.OnEventReply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fields := e.GetFields()
	if fields == nil {
		fields = map[string]string{}
	}
	ev := Event{Kind: e.GetKind(), Fields: fields, Time: time.UnixMilli(e.GetUnixMs())}
	if err := s.p.OnEvent(ctx, ev); err != nil {
		return nil, status.Error(codes.Unknown, err.Error())
	}
	return &pb.OnEventReply{}, nil
}

func (s *server) Render(ctx context.Context, req *pb.RenderRequest) (*pb.RenderReply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := image.Pt(int(req.GetWidth()), int(req.GetHeight()))
	if out.X <= 0 || out.Y <= 0 {
		return nil, status.Errorf(codes.InvalidArgument, "output size %dx%d", out.X, out.Y)
	}
	f, err := s.p.Render(ctx, out)
	if err != nil {
		return nil, status.Error(codes.Unknown, err.Error())
	}
	return s.encode(f, out, req.GetResend()), nil
}

// encode turns f into a reply, clipped to the output, with changed=false
// when it equals the last reply sent.
func (s *server) encode(f Frame, out image.Point, resend bool) *pb.RenderReply {
	opacity := f.Opacity
	if opacity == 0 {
		opacity = 1
	}
	var src image.Rectangle // the part of f.Image shown
	var dst image.Rectangle // where it goes in the output
	if f.Image != nil {
		b := f.Image.Bounds()
		dst = b.Sub(b.Min).Add(f.At).Intersect(image.Rectangle{Max: out})
		src = dst.Sub(f.At).Add(b.Min)
	}
	if dst.Empty() {
		dst, src = image.Rectangle{}, image.Rectangle{}
	}
	same := !resend && s.last.valid && s.last.output == out && s.last.rect == dst && s.last.opacity == opacity &&
		equalPixels(f.Image, src, s.last.rgba)
	if same {
		return &pb.RenderReply{}
	}
	rgba := pack(f.Image, src)
	s.last.valid, s.last.output, s.last.rect, s.last.opacity, s.last.rgba = true, out, dst, opacity, rgba
	return &pb.RenderReply{Changed: true,
		X: int32(dst.Min.X), Y: int32(dst.Min.Y), Width: int32(dst.Dx()), Height: int32(dst.Dy()),
		Rgba: rgba, Opacity: proto.Float64(opacity)}
}

// pack copies r of img into a tight row-major buffer.
func pack(img *image.RGBA, r image.Rectangle) []byte {
	if r.Empty() {
		return nil
	}
	row := r.Dx() * 4
	buf := make([]byte, 0, row*r.Dy())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := img.PixOffset(r.Min.X, y)
		buf = append(buf, img.Pix[i:i+row]...)
	}
	return buf
}

func equalPixels(img *image.RGBA, r image.Rectangle, packed []byte) bool {
	if r.Empty() {
		return len(packed) == 0
	}
	row := r.Dx() * 4
	if len(packed) != row*r.Dy() {
		return false
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := img.PixOffset(r.Min.X, y)
		j := (y - r.Min.Y) * row
		if !bytes.Equal(img.Pix[i:i+row], packed[j:j+row]) {
			return false
		}
	}
	return true
}

// ParamNames lists a schema's parameter names, sorted.
func ParamNames(params []Param) []string {
	names := make([]string, 0, len(params))
	for _, p := range params {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}
