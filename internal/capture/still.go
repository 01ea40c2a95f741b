package capture

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg" // image sources read JPEG
	_ "image/png"  // and PNG
	"os"
	"time"

	"github.com/onair-studio/onair/internal/source"
)

// colorSource fills every frame with one colour.
type colorSource struct {
	spec source.Spec
	c    color.RGBA // premultiplied
}

func newColorSource(spec source.Spec) *colorSource {
	return &colorSource{spec: spec, c: color.RGBAModel.Convert(spec.Color).(color.RGBA)}
}

func (s *colorSource) Read(dst *image.RGBA, _ int64, _ time.Time) error {
	fillRect(dst, image.Rect(0, 0, dst.Bounds().Dx(), dst.Bounds().Dy()), s.c)
	return nil
}
func (s *colorSource) Size() image.Point { return image.Point{} }
func (s *colorSource) Opaque() bool      { return s.c.A == 255 }
func (s *colorSource) Close() error      { return nil }
func (s *colorSource) String() string    { return s.spec.String() }

// imageSource is a still picture: decoded once, scaled once per output size.
type imageSource struct {
	spec   source.Spec
	img    *image.RGBA
	scaled *image.RGBA // img at the size last asked for
	opaque bool
}

func openImage(spec source.Spec) (*imageSource, error) {
	f, err := os.Open(spec.Path)
	if err != nil {
		return nil, fmt.Errorf("image source: %w", err)
	}
	defer f.Close()
	decoded, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("image source %s: %w", spec.Path, err)
	}
	b := decoded.Bounds()
	img := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(img, img.Bounds(), decoded, b.Min, draw.Src)
	opaque := true
	for i := 3; i < len(img.Pix); i += 4 {
		if img.Pix[i] != 255 {
			opaque = false
			break
		}
	}
	return &imageSource{spec: spec, img: img, opaque: opaque}, nil
}

func (s *imageSource) Read(dst *image.RGBA, _ int64, _ time.Time) error {
	size := dst.Bounds().Size()
	src := s.img
	if size != src.Bounds().Size() {
		if s.scaled == nil || s.scaled.Bounds().Size() != size {
			s.scaled = image.NewRGBA(image.Rectangle{Max: size})
			ScaleBilinear(s.scaled, s.img)
		}
		src = s.scaled
	}
	copyRGBA(dst, src)
	return nil
}
func (s *imageSource) Size() image.Point { return s.img.Bounds().Size() }
func (s *imageSource) Opaque() bool      { return s.opaque }
func (s *imageSource) Close() error      { return nil }
func (s *imageSource) String() string    { return s.spec.String() }

// copyRGBA copies src into dst row by row; both have the same size.
func copyRGBA(dst, src *image.RGBA) {
	db, sb := dst.Bounds(), src.Bounds()
	n := 4 * db.Dx()
	for y := 0; y < db.Dy(); y++ {
		di := dst.PixOffset(db.Min.X, db.Min.Y+y)
		si := src.PixOffset(sb.Min.X, sb.Min.Y+y)
		copy(dst.Pix[di:di+n], src.Pix[si:si+n])
	}
}
