package pluginhost

import (
	"image"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/filter"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// The pluginhost starts a filter plugin and tells it where to listen; a
// client (the encoder's end) then hands it frames directly, and they come
// back keyed. A filter with no directory to listen in fails with a reason.
func TestFilterPluginIsBrokered(t *testing.T) {
	h := newHarness(t, "chromakey")
	dir, err := os.MkdirTemp("", "onair-f-") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h.filterDir = dir
	key := pspec("key")
	key.Binary = "chromakey"
	h.configure(key)
	h.awaitRunning("key")
	c := filter.Dial(filter.SocketPath(dir, "key"), 8, 8, filter.Options{Deadline: 5 * time.Second})
	defer c.Close()
	testpeer.Await(t, 15*time.Second, "the encoder's end attached", func() bool { return c.Stats().Connected })
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i+1], img.Pix[i+3] = 255, 255 // opaque green
	}
	if !c.Apply(img) {
		t.Fatalf("frame bypassed: %+v", c.Stats())
	}
	if a := img.RGBAAt(3, 3).A; a != 0 {
		t.Errorf("green is still there (alpha %d) after the chroma key", a)
	}

	bare := newHarness(t, "chromakey")
	bare.configure(key)
	bare.awaitPlugin("key", "failed without a filter directory", 15*time.Second, func(p *pb.PluginState) bool {
		return p.GetState() == StateFailed && strings.Contains(p.GetError(), "no filter directory")
	})
}
