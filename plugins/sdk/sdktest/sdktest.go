// Package sdktest lets a plugin's own tests see what the studio would show,
// without a studio: it checks the plugin's Info and parameters with the
// pluginhost's rules, configures the plugin and composes one rendered
// overlay onto an empty output.
package sdktest

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"slices"
	"testing"

	"github.com/onair-studio/onair/plugins/sdk"
)

// Render configures p with params (checked and completed with defaults, as
// the pluginhost does) and returns its overlay for an output of the given
// size, placed and with its opacity applied over a transparent picture. Any
// refusal fails the test with the message the studio would show.
func Render(t testing.TB, p sdk.Plugin, params map[string]string, output image.Point) *image.RGBA {
	t.Helper()
	Configure(t, p, params)
	return RenderAgain(t, p, output)
}

// Configure checks p's Info and configures it with params, as the
// pluginhost does after each start and on each change.
func Configure(t testing.TB, p sdk.Plugin, params map[string]string) {
	t.Helper()
	info := p.Info()
	if err := sdk.CheckInfo(info); err != nil {
		t.Fatalf("%s: its Info is unusable: %v", info.Name, err)
	}
	resolved, err := sdk.Resolve(info.Params, params)
	if err != nil {
		t.Fatalf("%s: parameters refused: %v", info.Name, err)
	}
	if err := p.Configure(context.Background(), resolved); err != nil {
		t.Fatalf("%s: parameters refused by the plugin: %v", info.Name, err)
	}
}

// RenderAgain renders an already configured plugin once more.
func RenderAgain(t testing.TB, p sdk.Plugin, output image.Point) *image.RGBA {
	t.Helper()
	f, err := p.Render(context.Background(), output)
	if err != nil {
		t.Fatalf("%s: Render: %v", p.Info().Name, err)
	}
	out := image.NewRGBA(image.Rectangle{Max: output})
	if f.Image == nil {
		return out
	}
	opacity := f.Opacity
	if opacity == 0 {
		opacity = 1
	}
	if opacity < 0 || opacity > 1 {
		t.Fatalf("%s: frame opacity %v: want 0..1", p.Info().Name, opacity)
	}
	b := f.Image.Bounds()
	dst := b.Sub(b.Min).Add(f.At)
	mask := image.NewUniform(alpha(opacity))
	draw.DrawMask(out, dst, f.Image, b.Min, mask, image.Point{}, draw.Over)
	return out
}

func alpha(opacity float64) color.Alpha { return color.Alpha{A: uint8(opacity*255 + 0.5)} }

// Filter configures a filter plugin with params and runs it once on a copy
// of img (RGBA), returning the changed copy. A refusal or an error from
// Filter fails the test.
func Filter(t testing.TB, p sdk.Filter, params map[string]string, img *image.RGBA) *image.RGBA {
	t.Helper()
	Configure(t, p, params)
	out := image.NewRGBA(image.Rectangle{Max: img.Bounds().Size()})
	draw.Draw(out, out.Rect, img, img.Bounds().Min, draw.Src)
	if err := p.Filter(context.Background(), &sdk.FilterFrame{RGBA: out, Seq: 2}); err != nil {
		t.Fatalf("%s: Filter: %v", p.Info().Name, err)
	}
	return out
}

// FilterAudio configures a sound filter plugin with params and runs it on
// copies of blocks, one after the other (each AudioBlock stereo samples),
// returning the changed copies. A refusal or an error fails the test.
func FilterAudio(t testing.TB, p sdk.AudioFilter, params map[string]string, blocks ...[]float32) [][]float32 {
	t.Helper()
	Configure(t, p, params)
	var out [][]float32
	for i, b := range blocks {
		if len(b) != sdk.AudioBlock*sdk.AudioChannels {
			t.Fatalf("block %d has %d samples, want %d", i, len(b), sdk.AudioBlock*sdk.AudioChannels)
		}
		c := slices.Clone(b)
		a := &sdk.AudioFrame{Samples: c, Channels: sdk.AudioChannels, Rate: sdk.AudioRate, Seq: uint64(2 * (i + 1))}
		if err := p.FilterAudio(context.Background(), a); err != nil {
			t.Fatalf("%s: FilterAudio on block %d: %v", p.Info().Name, i, err)
		}
		out = append(out, c)
	}
	return out
}
