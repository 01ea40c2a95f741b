package sdk

import (
	"context"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/onair-studio/onair/stub/pb"
)

// fixed renders whatever frame it holds.
type fixed struct {
	Base
	f Frame
}

func (*fixed) Info() Info { return Info{Name: "fixed", Kind: KindOverlay} }

func (p *fixed) Render(context.Context, image.Point) (Frame, error) { return p.f, nil }

func render(t *testing.T, s pb.PluginServer, w, h int32, resend bool) *pb.RenderReply {
	t.Helper()
	r, err := s.Render(context.Background(), &pb.RenderRequest{Width: w, Height: h, Resend: resend})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The SDK sends a frame only when it changed, unless asked to resend, and
// cuts it to the output.
func TestRenderChanges(t *testing.T) {
	img := image.NewRGBA(image.Rect(5, 5, 15, 13)) // origin does not matter
	img.Set(5, 5, color.RGBA{10, 20, 30, 255})
	p := &fixed{f: Frame{Image: img, At: image.Pt(2, 3)}}
	s := NewServer(p)
	r := render(t, s, 100, 100, false)
	if !r.Changed || r.X != 2 || r.Y != 3 || r.Width != 10 || r.Height != 8 || len(r.Rgba) != 320 || r.GetOpacity() != 1 {
		t.Fatalf("first reply %v", r)
	}
	if r.Rgba[0] != 10 || r.Rgba[3] != 255 {
		t.Fatalf("first pixel %v", r.Rgba[:4])
	}
	if r := render(t, s, 100, 100, false); r.Changed {
		t.Fatal("unchanged frame sent again")
	}
	if r := render(t, s, 100, 100, true); !r.Changed || len(r.Rgba) != 320 {
		t.Fatal("resend ignored")
	}
	if r := render(t, s, 200, 100, false); !r.Changed {
		t.Fatal("new output size not re-sent")
	}
	img.Set(6, 5, color.RGBA{1, 1, 1, 255})
	if r := render(t, s, 200, 100, false); !r.Changed || r.Rgba[4] != 1 {
		t.Fatal("changed pixel not sent")
	}
	// Past the bottom-right corner: cut off.
	p.f.At = image.Pt(95, 96)
	if r := render(t, s, 100, 100, false); !r.Changed || r.X != 95 || r.Y != 96 || r.Width != 5 || r.Height != 4 || len(r.Rgba) != 80 {
		t.Fatalf("clipped reply %dx%d at %d,%d with %d bytes", r.Width, r.Height, r.X, r.Y, len(r.Rgba))
	}
	// Entirely outside, or no image: nothing to show, said once.
	p.f.At = image.Pt(200, 0)
	if r := render(t, s, 100, 100, false); !r.Changed || r.Width != 0 || len(r.Rgba) != 0 {
		t.Fatalf("outside reply %v", r)
	}
	p.f = Frame{}
	if r := render(t, s, 100, 100, false); r.Changed {
		t.Fatal("empty frame sent twice")
	}
}

func TestResolve(t *testing.T) {
	schema := []Param{
		{Name: "size", Type: TypeInt, Default: "32"},
		{Name: "color", Type: TypeColor, Default: "#fff"},
		{Name: "mode", Type: TypeString, Default: "a", Choices: []string{"a", "b"}},
		{Name: "pos", Type: TypePosition, Default: "top-left"},
		{Name: "width", Type: TypeInt, Default: "100", Min: "1", Max: "4096"},
	}
	got, err := Resolve(schema, map[string]string{"size": "12"})
	if err != nil || got["size"] != "12" || got["color"] != "#fff" || got["mode"] != "a" || len(got) != 5 {
		t.Fatalf("resolve: %v %v", got, err)
	}
	for _, c := range []struct {
		given map[string]string
		want  string
	}{
		{map[string]string{"colr": "#000"}, `unknown parameter "colr" (known: color, mode, pos, size, width)`},
		{map[string]string{"width": "0"}, `parameter width: "0" is out of range (want a whole number from 1 to 4096)`},
		// Every error at once, each with what a valid value looks like.
		{map[string]string{"width": "abc", "size": "-1.5", "colr": "x"},
			`unknown parameter "colr" (known: color, mode, pos, size, width); ` +
				`parameter size: "-1.5" is not a valid int (want a whole number); ` +
				`parameter width: "abc" is not a valid int (want a whole number)`},
		{map[string]string{"size": "big"}, `parameter size: "big" is not a valid int (want a whole number)`},
		{map[string]string{"color": "red"}, `parameter color: "red" is not a valid color (want #rgb, #rrggbb or #rrggbbaa)`},
		{map[string]string{"mode": "c"}, `parameter mode: "c" is not one of a, b`},
		{map[string]string{"pos": "-5,-5"}, `parameter pos: "-5,-5" is not a valid position (want top-left, top, top-right, left, center, right, bottom-left, bottom, bottom-right, or X,Y in pixels)`},
	} {
		if _, err := Resolve(schema, c.given); err == nil || err.Error() != c.want {
			t.Errorf("%v: error %v, want %q", c.given, err, c.want)
		}
	}
	if err := CheckInfo(Info{Kind: "widget"}); err == nil {
		t.Error("unknown kind accepted")
	}
	if err := CheckInfo(Info{Kind: KindEvent, Params: []Param{{Name: "x", Type: "blob"}}}); err == nil {
		t.Error("unknown parameter type accepted")
	}
	for _, p := range []Param{
		{Name: "x", Type: TypeString, Min: "1"},
		{Name: "x", Type: TypeInt, Min: "a"},
		{Name: "x", Type: TypeInt, Min: "5", Max: "1"},
		{Name: "x", Type: TypeInt, Default: "0", Min: "1"},
	} {
		if err := CheckInfo(Info{Kind: KindEvent, Params: []Param{p}}); err == nil {
			t.Errorf("bad bounds accepted: %+v", p)
		}
	}
}

func TestText(t *testing.T) {
	img := Text("Ag", 39, White, Transparent, 0)
	if img.Bounds().Size() != image.Pt(40, 39) {
		t.Fatalf("text size %v", img.Bounds().Size())
	}
	lit := 0
	for i := 3; i < len(img.Pix); i += 4 {
		if img.Pix[i] == 255 {
			lit++
		}
	}
	if lit < 50 {
		t.Fatalf("only %d opaque pixels in the text", lit)
	}
	var b strings.Builder
	Describe(&b, Info{Name: "x", Version: "1", Kind: KindOverlay, Params: []Param{{Name: "size", Type: TypeInt, Default: "3"}}})
	if !strings.Contains(b.String(), `size (int, default "3")`) {
		t.Errorf("describe: %s", b.String())
	}
}

// A sound filter declares the sound format alone; a filter that mixes it
// with pictures, or declares none, is refused with what it declared.
func TestFilterFormatsChecked(t *testing.T) {
	for _, tc := range []struct {
		formats []string
		ok      bool
	}{
		{[]string{FormatAudio}, true},
		{[]string{FormatRGBA, FormatI420}, true},
		{[]string{FormatRGBA, FormatAudio}, false},
		{nil, false},
		{[]string{"s16"}, false},
	} {
		err := CheckInfo(Info{Name: "f", Kind: KindFilter, Formats: tc.formats})
		if (err == nil) != tc.ok {
			t.Errorf("formats %v: error %v, want ok=%v", tc.formats, err, tc.ok)
		}
	}
}
