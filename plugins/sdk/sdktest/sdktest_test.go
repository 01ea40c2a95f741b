package sdktest

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"testing"

	"github.com/onair-studio/onair/plugins/sdk"
)

type square struct {
	sdk.Base
	fill color.RGBA
}

func (*square) Info() sdk.Info {
	return sdk.Info{Name: "square", Kind: sdk.KindOverlay,
		Params: []sdk.Param{{Name: "color", Type: sdk.TypeColor, Default: "#00ff00"}}}
}

func (s *square) Configure(_ context.Context, p map[string]string) error {
	s.fill, _ = sdk.ParseColor(p["color"])
	return nil
}

func (s *square) Render(context.Context, image.Point) (sdk.Frame, error) {
	img := image.NewRGBA(image.Rect(0, 0, 10, 10))
	draw.Draw(img, img.Bounds(), image.NewUniform(s.fill), image.Point{}, draw.Src)
	return sdk.Frame{Image: img, At: image.Pt(5, 5), Opacity: 0.5}, nil
}

// The overlay lands where At says, with its opacity and the configured
// colour, and nowhere else.
func TestRender(t *testing.T) {
	img := Render(t, &square{}, map[string]string{"color": "#ff0000"}, image.Pt(32, 32))
	if c := img.RGBAAt(7, 7); c.R < 126 || c.R > 129 || c.G != 0 || c.A < 126 || c.A > 129 {
		t.Errorf("inside the overlay: %v, want red at half opacity", c)
	}
	if c := img.RGBAAt(2, 2); c.A != 0 {
		t.Errorf("outside the overlay: %v", c)
	}
}
