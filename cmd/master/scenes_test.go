package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

const sceneConfig = `scenes:
  list:
    - name: Starting soon
      layers:
        - {name: card, source: "color:#ff0000"}
    - name: Game
      layers:
        - {name: screen, source: "color:#0000ff"}
    - name: Just chatting
      layers:
        - {name: backdrop, source: "color:#00ff00"}
`

// sceneRGB is a colour seen at the viewer.
type sceneRGB struct{ r, g, b int }

var (
	sceneRed   = sceneRGB{255, 0, 0}
	sceneBlue  = sceneRGB{0, 0, 255}
	sceneGreen = sceneRGB{0, 255, 0}
)

// within says whether c is want give or take tol per channel (the H.264
// round trip moves solid colours by a few steps).
func (c sceneRGB) within(want sceneRGB, tol int) bool {
	d := func(a, b int) bool { return a-b <= tol && b-a <= tol }
	return d(c.r, want.r) && d(c.g, want.g) && d(c.b, want.b)
}

func pixel(r *testpeer.PixelReader, p testpeer.Picture, x, y int) sceneRGB {
	cr, cg, cb := r.At(p, x, y)
	return sceneRGB{int(cr), int(cg), int(cb)}
}

// awaitPixel waits until a picture decoded after from shows want at x,y and
// returns when it arrived.
func awaitPixel(t *testing.T, m *testpeer.Master, r *testpeer.PixelReader, what string, from time.Time, x, y int, want sceneRGB) time.Time {
	t.Helper()
	var at time.Time
	m.Await(what, 10*time.Second, func() bool {
		for _, p := range r.Pictures() {
			if p.At.After(from) && pixel(r, p, x, y).within(want, 40) {
				at = p.At
				return true
			}
		}
		return false
	})
	return at
}

// Scenes switch live at a real viewer behind nginx: a cut shows the new
// scene, a fade's middle frame is the half-and-half blend, layer edits show
// in the pixels, bad requests change nothing, and after the encoder is
// SIGKILLed the scene on air comes back as it was. nginx sees one publish
// session throughout: switching never restarts the stream.
func TestScenesSwitchLive(t *testing.T) {
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(sceneConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, nil, "-config", cfg, "-children", "encoder", "-width", "320", "-height", "180", "-fps", "30",
		"-dest", nginx.URL("live", "scenes"), "-live")
	m.Await("destination live", 15*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
	})
	viewer := testpeer.StartPixelReader(t, nginx.URL("live", "scenes"), 32, 18)
	awaitPixel(t, m, viewer, "the first scene at the viewer", time.Time{}, 16, 9, sceneRed)
	ctx := context.Background()

	// A cut, from the command a stream deck runs.
	before := m.Status().GetEncoder()
	skipped := before.GetSkippedFrames()
	called := time.Now()
	if out, err := m.Ctl("scene", "switch", "Game", "-transition", "cut"); err != nil {
		t.Fatalf("scene switch: %v\n%s", err, out)
	}
	seen := awaitPixel(t, m, viewer, "the cut at the viewer", called, 16, 9, sceneBlue)
	t.Logf("cut: call to first new picture at the viewer %v", seen.Sub(called).Round(time.Millisecond))
	for _, p := range viewer.Pictures() {
		if c := pixel(viewer, p, 16, 9); p.At.After(called) && !c.within(sceneRed, 40) && !c.within(sceneBlue, 40) {
			t.Errorf("a cut showed a picture that is neither scene: %v", c)
			break
		}
	}
	if st := m.Status(); st.GetProgramScene() != "Game" {
		t.Errorf("status shows %q on air, want Game", st.GetProgramScene())
	}

	// A one-second fade (30 frames) to green: the middle of the frames
	// between the two scenes is their 50/50 blend, within 10%.
	called = time.Now()
	if _, err := m.Client.SwitchScene(ctx, &pb.SwitchSceneRequest{Name: "Just chatting", Transition: "fade", DurationMs: 1000}); err != nil {
		t.Fatal(err)
	}
	awaitPixel(t, m, viewer, "the fade's end at the viewer", called, 16, 9, sceneGreen)
	var between []sceneRGB
	for _, p := range viewer.Pictures() {
		if c := pixel(viewer, p, 16, 9); p.At.After(called) && !c.within(sceneBlue, 12) && !c.within(sceneGreen, 12) {
			between = append(between, c)
		}
	}
	if len(between) < 20 {
		t.Fatalf("the fade showed %d blended pictures, want about 30", len(between))
	}
	mid := between[len(between)/2]
	t.Logf("fade: %d blended pictures, the middle one %v", len(between), mid)
	if !mid.within(sceneRGB{0, 128, 128}, 26) { // 10% of full scale
		t.Errorf("the fade's middle picture is %v, want the blend of blue and green, about 0,128,128", mid)
	}
	// The same pipeline throughout: a restarted one counts from zero.
	if after := m.Status().GetEncoder(); after.GetCapturedFrames() < before.GetCapturedFrames()+30 {
		t.Errorf("captured frames went from %d to %d across the switches: the pipeline restarted",
			before.GetCapturedFrames(), after.GetCapturedFrames())
	}
	if d := m.Status().GetEncoder().GetSkippedFrames() - skipped; d > 1 {
		t.Errorf("%d frames skipped across the switches, want at most 1", d)
	}

	// Layer edits on the scene on air show in the pixels.
	square := &pb.Layer{Name: "cam", Source: "color:#ff0000", X: 0, Y: 0, Width: 160, Height: 90, Opacity: 1}
	called = time.Now()
	if _, err := m.Client.AddLayer(ctx, &pb.LayerRequest{Scene: "Just chatting", Layer: square}); err != nil {
		t.Fatal(err)
	}
	awaitPixel(t, m, viewer, "the added layer", called, 8, 4, sceneRed)
	square.X, square.Y = 160, 90
	called = time.Now()
	if _, err := m.Client.UpdateLayer(ctx, &pb.LayerRequest{Scene: "Just chatting", Index: 1, Layer: square}); err != nil {
		t.Fatal(err)
	}
	awaitPixel(t, m, viewer, "the layer moved away", called, 8, 4, sceneGreen)
	awaitPixel(t, m, viewer, "the layer moved there", called, 24, 13, sceneRed)

	// Text changed over the API shows in the program: a dot, then a row of
	// wide letters that whitens the strip it is drawn on.
	text := &pb.Layer{Name: "caption", Source: "text:{size=60}.", X: 0, Y: 100, Opacity: 1}
	if _, err := m.Client.AddLayer(ctx, &pb.LayerRequest{Scene: "Just chatting", Layer: text}); err != nil {
		t.Fatal(err)
	}
	// The strip left of the red square, over the green backdrop.
	redInStrip := func(p testpeer.Picture) int {
		sum := 0
		for y := 11; y < 15; y++ {
			for x := 1; x < 15; x++ {
				sum += pixel(viewer, p, x, y).r
			}
		}
		return sum / (4 * 14)
	}
	called = time.Now()
	m.Await("the dot at the viewer", 10*time.Second, func() bool {
		pics := viewer.Pictures()
		return len(pics) > 0 && pics[len(pics)-1].At.After(called.Add(300*time.Millisecond))
	})
	if pics := viewer.Pictures(); redInStrip(pics[len(pics)-1]) >= 10 {
		t.Fatalf("the strip is already whitish (%d) before the text changes", redInStrip(pics[len(pics)-1]))
	}
	text.Source = "text:{size=60}MMMMMMMM"
	called = time.Now()
	if _, err := m.Client.UpdateLayer(ctx, &pb.LayerRequest{Scene: "Just chatting", Index: 2, Layer: text}); err != nil {
		t.Fatal(err)
	}
	m.Await("the new text at the viewer", 10*time.Second, func() bool {
		for _, p := range viewer.Pictures() {
			if p.At.After(called) && redInStrip(p) > 40 {
				return true
			}
		}
		return false
	})
	// Hidden, it is gone from the pixels and keeps its place.
	text.Hidden = true
	called = time.Now()
	if _, err := m.Client.UpdateLayer(ctx, &pb.LayerRequest{Scene: "Just chatting", Index: 2, Layer: text}); err != nil {
		t.Fatal(err)
	}
	m.Await("the hidden text gone at the viewer", 10*time.Second, func() bool {
		for _, p := range viewer.Pictures() {
			if p.At.After(called) && redInStrip(p) < 10 {
				return true
			}
		}
		return false
	})

	// A cropped picture shows only the part kept: the blue half of a
	// red|blue picture, over the top-left quarter; removed, it is gone.
	halves := filepath.Join(t.TempDir(), "halves.png")
	writeHalves(t, halves)
	cropped := &pb.Layer{Name: "logo", Source: "image:" + halves, Width: 160, Height: 90, Opacity: 1, CropLeft: 20}
	called = time.Now()
	if _, err := m.Client.AddLayer(ctx, &pb.LayerRequest{Scene: "Just chatting", Layer: cropped}); err != nil {
		t.Fatal(err)
	}
	awaitPixel(t, m, viewer, "the cropped picture", called, 2, 4, sceneBlue)
	called = time.Now()
	if _, err := m.Client.RemoveLayer(ctx, &pb.LayerRequest{Scene: "Just chatting", Index: 3}); err != nil {
		t.Fatal(err)
	}
	awaitPixel(t, m, viewer, "the picture removed", called, 2, 4, sceneGreen)

	// Bad requests are refused with the reason and the program stays.
	for _, bad := range []struct {
		call func() error
		want string
	}{
		{func() error {
			_, err := m.Client.SwitchScene(ctx, &pb.SwitchSceneRequest{Name: "Nope"})
			return err
		}, `no scene named "Nope"`},
		{func() error {
			_, err := m.Client.AddScene(ctx, &pb.NamedScene{Name: "Game"})
			return err
		}, `already a scene named "Game"`},
		{func() error {
			_, err := m.Client.AddLayer(ctx, &pb.LayerRequest{Scene: "Just chatting", Layer: &pb.Layer{Source: "image:/no/such/logo.png", Opacity: 1}})
			return err
		}, "/no/such/logo.png"},
		{func() error {
			_, err := m.Client.UpdateLayer(ctx, &pb.LayerRequest{Scene: "Just chatting", Index: 1, Layer: &pb.Layer{Source: "pattern", Width: 20000, Opacity: 1}})
			return err
		}, "20000x0 is not a layer size"},
		{func() error {
			_, err := m.Client.AddLayer(ctx, &pb.LayerRequest{Scene: "Just chatting", Layer: &pb.Layer{Source: "file:{once}/no/such/intro.mp4", Opacity: 1}})
			return err
		}, "media file /no/such/intro.mp4 does not exist"},
		{func() error {
			_, err := m.Client.AddLayer(ctx, &pb.LayerRequest{Scene: "Just chatting", Layer: &pb.Layer{Source: "webcam:{size=640x480}/dev/video-none", Opacity: 1}})
			return err
		}, "webcam device /dev/video-none does not exist"},
		{func() error {
			_, err := m.Client.UpdateLayer(ctx, &pb.LayerRequest{Scene: "Just chatting", Index: 1, Layer: &pb.Layer{Source: "pattern", Width: 100, CropLeft: 60, CropRight: 40, Opacity: 1}})
			return err
		}, "is larger than the 100x180 source"},
		{func() error {
			_, err := m.Client.RemoveScene(ctx, &pb.SceneRequest{Name: "Just chatting"})
			return err
		}, "is on air"},
	} {
		if err := bad.call(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("error %v, want one saying %q", err, bad.want)
		}
	}
	if out, err := m.Ctl("scene", "switch", "Nope"); err == nil || !strings.Contains(out, `no scene named "Nope"`) {
		t.Errorf("ctl scene switch Nope: %v\n%s", err, out)
	}
	if st := m.Status(); st.GetProgramScene() != "Just chatting" || len(st.GetScene()) != 3 {
		t.Errorf("a refused request changed the program: %q with %d layers", st.GetProgramScene(), len(st.GetScene()))
	}

	// The master holds the scenes: a new encoder shows the scene on air,
	// with its edit, not the first scene.
	old := child(m.Status(), "encoder")
	if err := syscall.Kill(int(old.GetPid()), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	m.Await("the encoder back", 10*time.Second, func() bool {
		st := m.Status()
		return configured(st, "encoder") && child(st, "encoder").GetPid() != old.GetPid()
	})
	back := time.Now()
	awaitPixel(t, m, viewer, "the scene on air after the restart", back, 8, 4, sceneGreen)
	awaitPixel(t, m, viewer, "its moved layer after the restart", back, 24, 13, sceneRed)
	for _, p := range viewer.Pictures() {
		if p.At.After(back) && pixel(viewer, p, 8, 4).within(sceneRed, 40) {
			t.Error("after the restart the viewer saw the first scene")
			break
		}
	}
	if out, _ := m.Ctl("scene", "list"); !strings.Contains(out, "* Just chatting") || !strings.Contains(out, "cam") {
		t.Errorf("scene list:\n%s", out)
	}
	saved := readFile(t, cfg)
	if !strings.Contains(saved, "program: Just chatting") || !strings.Contains(saved, "name: cam") {
		t.Errorf("the scenes were not saved:\n%s", saved)
	}
	if n := nginx.Publishes("scenes"); n != 1 {
		t.Errorf("nginx saw %d publish sessions, want exactly 1", n)
	}
}

// writeHalves writes a 40x20 PNG, its left half red and its right half blue.
func writeHalves(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for y := 0; y < 20; y++ {
		for x := 0; x < 40; x++ {
			c := color.RGBA{255, 0, 0, 255}
			if x >= 20 {
				c = color.RGBA{0, 0, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A scene collection goes out to one YAML file and comes back in: a bad
// file is refused with its line and key and changes nothing; a good one
// replaces the scenes, and the scene on air stays on air.
func TestSceneCollectionExportImport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(sceneConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, nil, "-config", cfg, "-children", "encoder", "-width", "320", "-height", "180")
	if _, err := m.Ctl("scene", "switch", "Game", "-transition", "cut"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "show.yaml")
	if out, err := m.Ctl("scene", "export", file); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	exported := readFile(t, file)
	for _, want := range []string{"name: Starting soon", "name: Game", "program: Game", "color:#00ff00"} {
		if !strings.Contains(exported, want) {
			t.Fatalf("the export lacks %q:\n%s", want, exported)
		}
	}

	bad := strings.Replace(exported, "name: Just chatting", "name: Game", 1)
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := m.Ctl("scene", "import", file)
	if err == nil || !regexp.MustCompile(regexp.QuoteMeta(file)+`:\d+: scenes.list.2.name: "Game": scene names are unique`).MatchString(out) {
		t.Fatalf("a duplicate scene imported: %v\n%s", err, out)
	}

	good := strings.Replace(exported, "name: Just chatting", "name: BRB", 1)
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := m.Ctl("scene", "import", file); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	list, err := m.Client.ListScenes(context.Background(), &pb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sc := range list.GetScenes() {
		names = append(names, sc.GetName())
	}
	if strings.Join(names, ",") != "Starting soon,Game,BRB" || list.GetProgram() != "Game" {
		t.Errorf("after the import: %q with %q on air", names, list.GetProgram())
	}
}

// snapshotColour is the colour at the middle of a snapshot.
func snapshotColour(t *testing.T, m *testpeer.Master, preview bool) (sceneRGB, error) {
	t.Helper()
	r, err := m.Client.Snapshot(context.Background(), &pb.SnapshotRequest{Format: "png", Preview: preview})
	if err != nil {
		return sceneRGB{}, err
	}
	img, err := decodePNG(r.GetImage())
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	cr, cg, cb, _ := img.At(b.Dx()/2, b.Dy()/2).RGBA()
	return sceneRGB{int(cr >> 8), int(cg >> 8), int(cb >> 8)}, nil
}

// Studio mode: a scene put in the preview is composed apart, small, and
// never reaches the viewers; Transition puts it on air and the old program
// into the preview. Without a preview, Transition is refused.
func TestStudioModePreviewAndTransition(t *testing.T) {
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(sceneConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, nil, "-config", cfg, "-children", "encoder", "-width", "320", "-height", "180", "-fps", "30",
		"-dest", nginx.URL("live", "studio"), "-live")
	m.Await("destination live", 15*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && d[0].GetFramesSent() > 0
	})
	viewer := testpeer.StartPixelReader(t, nginx.URL("live", "studio"), 32, 18)
	awaitPixel(t, m, viewer, "the program at the viewer", time.Time{}, 16, 9, sceneRed)
	if out, err := m.Ctl("scene", "transition"); err == nil || !strings.Contains(out, "studio mode is off") {
		t.Errorf("transition without a preview: %v\n%s", err, out)
	}

	previewed := time.Now()
	if out, err := m.Ctl("scene", "preview", "Game"); err != nil {
		t.Fatalf("scene preview: %v\n%s", err, out)
	}
	m.Await("the preview showing Game", 10*time.Second, func() bool {
		c, err := snapshotColour(t, m, true)
		return err == nil && c.within(sceneBlue, 8)
	})
	r, err := m.Client.Snapshot(context.Background(), &pb.SnapshotRequest{Format: "png", Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	if img, _ := decodePNG(r.GetImage()); img.Bounds().Dx() != 320 || img.Bounds().Dy() != 180 {
		t.Errorf("the preview is %v, want the program's 320x180 at most", img.Bounds())
	}
	// The viewers go on seeing the program while the preview is edited.
	frames := viewer.Count()
	m.Await("30 more frames at the viewer", 10*time.Second, func() bool { return viewer.Count() > frames+30 })
	for _, p := range viewer.Pictures() {
		if p.At.After(previewed) && !pixel(viewer, p, 16, 9).within(sceneRed, 40) {
			t.Fatalf("the preview reached the viewer: %v", pixel(viewer, p, 16, 9))
		}
	}
	if c, err := snapshotColour(t, m, false); err != nil || !c.within(sceneRed, 8) {
		t.Errorf("the program snapshot is %v (%v), want red", c, err)
	}

	called := time.Now()
	if out, err := m.Ctl("scene", "transition", "-transition", "cut"); err != nil {
		t.Fatalf("scene transition: %v\n%s", err, out)
	}
	awaitPixel(t, m, viewer, "the previewed scene on air", called, 16, 9, sceneBlue)
	if st := m.Status(); st.GetProgramScene() != "Game" || st.GetPreviewScene() != "Starting soon" {
		t.Errorf("after the transition: program %q, preview %q; want Game and Starting soon", st.GetProgramScene(), st.GetPreviewScene())
	}
	m.Await("the old program in the preview", 10*time.Second, func() bool {
		c, err := snapshotColour(t, m, true)
		return err == nil && c.within(sceneRed, 8)
	})
	if _, err := m.Ctl("scene", "preview", "off"); err != nil {
		t.Fatal(err)
	}
	m.Await("no preview with studio mode off", 10*time.Second, func() bool {
		_, err := m.Client.Snapshot(context.Background(), &pb.SnapshotRequest{Format: "png", Preview: true})
		return err != nil && strings.Contains(err.Error(), "studio mode is off")
	})
	if n := nginx.Publishes("studio"); n != 1 {
		t.Errorf("nginx saw %d publish sessions, want exactly 1", n)
	}
}
