package scene

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/capture"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/internal/transition"
)

// An edit of another layer keeps a playing media file as it is: the
// same decoder, its clock running on; a switch to the scene starts it over.
func TestEditKeepsMediaPlaying(t *testing.T) {
	clip := testpeer.MakeMP4(t, t.TempDir(), "clip.mp4", 1, 64, 48)
	scene := func(text string) []Layer {
		return []Layer{{Source: "color:#ff0000", Opacity: 1}, {Source: "file:" + clip, Name: "clip", W: 64, H: 48, Opacity: 1},
			{Source: "text:{size=12}" + text, X: 0, Y: 50, Opacity: 1}}
	}
	c := newScene(t, 128, 96, scene("one")...)
	defer c.Close()
	playing := c.layers[1].src
	c.Compose(0, time.Now())
	if err := c.Edit(scene("two")); err != nil {
		t.Fatal(err)
	}
	c.Compose(1, time.Now())
	if c.layers[1].src != playing {
		t.Fatal("a text edit reopened the media file")
	}
	if c.layers[2].cfg.Source != "text:{size=12}two" {
		t.Fatalf("the edit did not show: %q", c.layers[2].cfg.Source)
	}
	if s := c.Sound("clip"); s == nil || s.(capture.Source) != playing {
		t.Error("the clip's sound is not the mixer's to read")
	}
	if err := c.Switch(scene("two"), transition.T{Kind: transition.Cut}); err != nil {
		t.Fatal(err)
	}
	c.Compose(2, time.Now())
	if c.layers[1].src == playing {
		t.Fatal("a switch to the scene did not start the media file over")
	}
}

// A media file that cannot be read shows the placeholder where it should
// be, reports its error, and the rest of the scene is drawn.
func TestCorruptMediaShowsPlaceholder(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.mp4")
	if err := os.WriteFile(bad, []byte("not a video"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newScene(t, 128, 96, Layer{Source: "color:#0000ff", Opacity: 1},
		Layer{Source: "file:" + bad, X: 64, Y: 0, W: 64, H: 48, Opacity: 1})
	defer c.Close()
	f := c.Compose(0, time.Now())
	if got := f.RGBAAt(10, 70); got != blue {
		t.Errorf("the rest of the scene: %v, want blue", got)
	}
	if got := f.RGBAAt(96, 8); got != PlaceholderColor {
		t.Errorf("the broken layer's place: %v, want the placeholder %v", got, PlaceholderColor)
	}
	if st := c.Stats(); st.Layers[1].Err == nil {
		t.Error("the broken file is not reported")
	}
}
