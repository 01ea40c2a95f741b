package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// clipPictures has ffmpeg decode a clip's pictures as RGB24 at w×h, the
// way the viewer's pictures come.
func clipPictures(t *testing.T, path string, w, h int) [][]byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", path,
		"-vf", fmt.Sprintf("scale=%d:%d", w, h), "-pix_fmt", "rgb24", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	var pics [][]byte
	for i := 0; i+3*w*h <= len(out); i += 3 * w * h {
		pics = append(pics, out[i:i+3*w*h])
	}
	return pics
}

// nearestPicture is the clip picture the left half of pic (w×h RGB24)
// looks most like, and the mean difference per byte.
func nearestPicture(pic []byte, clip [][]byte, w, h int) (int, float64) {
	best, bestDiff := -1, 0.0
	for i, ref := range clip {
		sum, n := 0, 0
		for y := 0; y < h; y++ {
			for x := 0; x < 3*w/2; x++ {
				d := int(ref[3*w*y+x]) - int(pic[3*w*y+x])
				sum += max(d, -d)
				n++
			}
		}
		if diff := float64(sum) / float64(n); best < 0 || diff < bestDiff {
			best, bestDiff = i, diff
		}
	}
	return best, bestDiff
}

// A media file layer at a real viewer behind nginx: the clip plays frame
// for frame at the output's rate and loops without a repeated or missing
// picture at the seam, and plays on through an edit of another layer; its sound (a 1 kHz tone) is in the program's sound;
// a corrupt file beside it shows the placeholder and is reported in
// status while the clip goes on.
func TestMediaFileLayerLive(t *testing.T) {
	dir := t.TempDir()
	clip := testpeer.MakeMP4(t, dir, "clip.mp4", 1, 320, 180)
	bad := filepath.Join(dir, "bad.mp4")
	if err := os.WriteFile(bad, []byte("this is not a video"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`scenes:
  list:
    - name: Clip
      layers:
        - {name: clip, source: "file:%s"}
        - {name: broken, source: "file:%s", x: 240, y: 0, width: 80, height: 46}
`, clip, bad)), 0o600); err != nil {
		t.Fatal(err)
	}
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	m := startMaster(t, nil, "-config", cfg, "-children", "encoder", "-width", "320", "-height", "180", "-fps", "30",
		"-dest", nginx.URL("live", "media"), "-live")
	m.Await("destination live", 15*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
	})
	m.Await("the broken file in status", 10*time.Second, func() bool {
		for _, e := range m.Status().GetEncoder().GetLayerErrors() {
			if strings.Contains(e, "bad.mp4") {
				return true
			}
		}
		return false
	})

	const w, h = 160, 90
	ref := clipPictures(t, clip, w, h)
	if len(ref) != 30 {
		t.Fatalf("the clip has %d pictures, want 30", len(ref))
	}
	viewer := testpeer.StartPixelReader(t, nginx.URL("live", "media"), w, h)
	skippedBefore := m.Status().GetEncoder().GetSkippedFrames()
	m.Await("two seconds of pictures at the viewer", 20*time.Second, func() bool { return viewer.Count() >= 65 })
	// An edit of another layer of the scene on air (a caption added, in
	// the right half the comparison leaves out) must not restart the clip.
	if _, err := m.Client.AddLayer(context.Background(), &pb.LayerRequest{Scene: "Clip",
		Layer: &pb.Layer{Name: "caption", Source: "text:{size=16}Back soon", X: 250, Y: 150, Opacity: 1}}); err != nil {
		t.Fatal(err)
	}
	edited := viewer.Count()
	m.Await("two more seconds of pictures at the viewer", 20*time.Second, func() bool { return viewer.Count() >= edited+60 })
	pics := viewer.Pictures()
	skipped := m.Status().GetEncoder().GetSkippedFrames() - skippedBefore
	if n := len(m.Status().GetScene()); n != 3 {
		t.Fatalf("the scene on air has %d layers after the edit, want 3", n)
	}

	pics = pics[5:] // past the viewer's start
	var shown []int
	for i, p := range pics {
		k, diff := nearestPicture(p.RGB, ref, w, h)
		if diff > 12 {
			t.Fatalf("viewer picture %d is not the clip's (nearest is picture %d, mean difference %.1f)", i, k, diff)
		}
		shown = append(shown, k)
	}
	irregular, seams := 0, 0
	for i := 1; i < len(shown); i++ {
		step := (shown[i] - shown[i-1] + 30) % 30
		if shown[i] < shown[i-1] {
			seams++
		}
		if step != 1 {
			irregular++
		}
	}
	t.Logf("clip pictures at the viewer: %v (%d skipped frame slots, the edit after picture %d)", shown, skipped, edited-5)
	if seams < 3 {
		t.Errorf("the clip looped %d times in %d pictures, want at least 2", seams, len(shown))
	}
	if irregular > int(skipped) {
		t.Errorf("%d pictures did not follow the one before (a repeat, a gap or a restart), with %d frame slots skipped", irregular, skipped)
	}

	// The broken file's place shows the placeholder, away from its cross.
	last := pics[len(pics)-1]
	if c := pixel(viewer, last, 140, 8); !c.within(sceneRGB{0x90, 0x10, 0x40}, 40) {
		t.Errorf("the broken layer's place shows %v, want the placeholder", c)
	}

	sound := testpeer.DecodeAudio(t, nginx.URL("live", "media"), 2, "-rw_timeout", "5000000")
	level := testpeer.ToneLevel(sound, 1000)
	t.Logf("the clip's 1 kHz tone at the viewer: %.1f dBFS; quiet at %v", level, testpeer.Silences(sound, 1000, level, 50*time.Millisecond))
	// A mono clip plays centred: 3 dB down in each channel.
	want := testpeer.SineLevel - 3
	if level < want-1.5 {
		t.Errorf("the clip's tone reads %.1f dBFS at the viewer, want its sound in the program at %.1f", level, want)
	}

	// Listed as a source, the clip's sound mutes like any other.
	for _, args := range [][]string{{"audio", "add", "layer:clip"}, {"audio", "mute", "layer:clip"}} {
		if out, err := m.Ctl(args...); err != nil {
			t.Fatalf("ctl %v: %v\n%s", args, err, out)
		}
	}
	m.Await("the clip's strip muted", 10*time.Second, func() bool {
		for _, s := range m.Status().GetAudio().GetStrips() {
			if s.GetName() == "layer:clip" {
				return s.GetMuted()
			}
		}
		return false
	})
	sound = testpeer.DecodeAudio(t, nginx.URL("live", "media"), 1, "-rw_timeout", "5000000")
	if level := testpeer.ToneLevel(sound[len(sound)/2:], 1000); level > want-40 {
		t.Errorf("muted, the clip's tone still reads %.1f dBFS", level)
	}
}
