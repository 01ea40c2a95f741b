package capture

import (
	"fmt"
	"image"
	"image/color"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/onair-studio/onair/internal/source"
)

// outlineWidth is how far an outline reaches around each letter, in pixels.
const outlineWidth = 2

// openText draws a text source's line once into a still picture of its own
// size (the text's width, the font's line height, plus the outline); the
// compositor then treats it as an image. A change of text is a new source.
func openText(spec source.Spec) (*imageSource, error) {
	f, err := source.LoadFont(spec.FontPath)
	if err != nil {
		return nil, fmt.Errorf("text source: %w", err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: float64(spec.FontSize), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("text source: %w", err)
	}
	defer face.Close()
	pad := 0
	if spec.Outline.A != 0 {
		pad = outlineWidth
	}
	m := face.Metrics()
	width := font.MeasureString(face, spec.Text).Ceil()
	height := (m.Ascent + m.Descent).Ceil()
	img := image.NewRGBA(image.Rect(0, 0, max(1, width+2*pad), max(1, height+2*pad)))
	base := fixed.P(pad, pad+m.Ascent.Ceil())
	d := &font.Drawer{Dst: img, Face: face}
	if pad > 0 {
		d.Src = image.NewUniform(spec.Outline)
		for dy := -pad; dy <= pad; dy++ {
			for dx := -pad; dx <= pad; dx++ {
				if dx*dx+dy*dy > pad*pad {
					continue
				}
				d.Dot = base.Add(fixed.P(dx, dy))
				d.DrawString(spec.Text)
			}
		}
	}
	d.Src, d.Dot = image.NewUniform(color.NRGBA(spec.Color)), base
	d.DrawString(spec.Text)
	return &imageSource{spec: spec, img: img}, nil
}
