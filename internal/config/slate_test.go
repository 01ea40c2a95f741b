package config

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// slate.image must name a picture that decodes; a wrong one is refused with
// FILE:LINE: slate.image and why, and a good one is kept.
func TestSlateImage(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "brb.png")
	f, err := os.Create(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	f.Close()
	text := filepath.Join(dir, "notes.png")
	if err := os.WriteFile(text, []byte("not a picture"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ image, want string }{
		{filepath.Join(dir, "missing.png"), "no such file"},
		{text, "is not a PNG, JPEG or GIF picture"},
	} {
		path := writeConfig(t, "live: true\nslate:\n  image: "+c.image+"\n")
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), path+":3: slate.image: ") || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("slate image %s: error %v, want %s:3: slate.image: ...%s", c.image, err, path, c.want)
		}
	}
	cfg, err := Load(writeConfig(t, "slate: {image: "+good+"}\n"))
	if err != nil || cfg.Slate.Image != good {
		t.Fatalf("a good picture: %v, image %q", err, cfg.Slate.Image)
	}
}
