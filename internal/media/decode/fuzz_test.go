package decode

import (
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
)

// FuzzPlay feeds corrupted bytes of a real, tiny clip through the open and
// decode path: whatever the bytes, Play refuses them or the pictures and
// sound come out, and nothing crashes or hangs.
func FuzzPlay(f *testing.F) {
	clip := testpeer.MakeMP4(f, f.TempDir(), "seed.mp4", 0.2, 32, 16)
	seed, err := os.ReadFile(clip)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "in.mp4")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := Play(Input{URL: path}, Options{Loop: true})
		if err != nil {
			return
		}
		defer p.Close()
		dst := image.NewRGBA(image.Rect(0, 0, 16, 8))
		buf := make([]float32, 256)
		start := time.Now()
		for k := range 8 {
			_ = p.Read(dst, int64(k), start.Add(time.Duration(k)*time.Second/10))
			p.ReadSound(buf, start.Add(time.Duration(k)*time.Second/10))
		}
	})
}
