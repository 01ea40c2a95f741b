package replay

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/jobs"
	"github.com/onair-studio/onair/internal/stream"
)

// Saving a replay: 30 s at 720p30 and 4.5 Mbit/s (about 17 MB of pictures)
// (pictures only), from the call to a finished, renamed file on disk, as
// SaveReplay does it.
func BenchmarkReplaySave30s720p(b *testing.B) {
	buf, _ := New("program", 30*time.Second, 0)
	buf.SourceStarted("program", stream.Tracks{Video: &stream.H264{SPS: testSPS, PPS: []byte{0x68, 0xce, 0x3c, 0x80}}})
	const picture = 4_500_000 / 8 / 30
	for i := 0; i < 31*30; i++ {
		typ := byte(1)
		if i%60 == 0 {
			typ = 5
		}
		pts := time.Duration(i) * time.Second / 30
		buf.Unit("program", stream.Unit{Kind: stream.Video, PTS: pts, NALUs: [][]byte{append([]byte{typ}, make([]byte, picture)...)}, Key: typ == 5})
	}
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c, err := buf.Clip(30 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		out := filepath.Join(dir, "clip.mp4")
		if err := jobs.WriteAtomic(out, func(f *os.File) error { return WriteMP4(f, c) }); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(c.Bytes))
		os.Remove(out)
	}
}
