package ui

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/stub/pb"
)

// scenePanel lists the scene's layers, top first as the viewer sees them,
// with buttons to add, edit, remove and reorder them; plugin overlays are
// listed above them, placed through their plugin's settings.
type scenePanel struct {
	s *Studio
	// scenes holds a button per named scene; a click puts it on air.
	scenes      *fyne.Container
	sceneKey    string // the scene names and the one on air, as shown
	sceneButton map[string]*widget.Button
	// studioMode turns studio mode on and off; transition puts the preview
	// on air. A scene click previews it while studio mode is on.
	studioMode *widget.Check
	transition *widget.Button
	studioOn   bool
	// visibility holds each layer row's Hide/Show button, by layer index.
	visibility map[int]*widget.Button
	add        *widget.Button
	layers     *fyne.Container
	overlays   *fyne.Container
	// program holds the program's filters and their buttons.
	program *fyne.Container
	// filterButtons are each filter's buttons by filter name, addFilter
	// each layer's Add filter button by layer name ("" the program).
	filterButtons map[string]*filterButtons
	addFilter     map[string]*widget.Button
	shown         []*pb.Layer
	filtered      map[string]string // each layer's filters as shown, by layer name
	overlaid      string            // the overlay lines shown, to rebuild them only on change
	content       fyne.CanvasObject
}

func newScenePanel(s *Studio) *scenePanel {
	p := &scenePanel{s: s, layers: container.NewVBox(), overlays: container.NewVBox(), scenes: container.NewVBox(),
		program: container.NewVBox(), filterButtons: map[string]*filterButtons{}, addFilter: map[string]*widget.Button{}}
	p.studioMode = widget.NewCheck("Studio mode (edit the next scene in a preview)", p.setStudioMode)
	p.transition = widget.NewButton("Transition", func() {
		s.call("Transition", func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
			return c.Transition(ctx, &pb.SwitchSceneRequest{})
		}, nil)
	})
	p.transition.Importance = widget.HighImportance
	p.add = widget.NewButtonWithIcon("Add source", theme.ContentAddIcon(), func() { newLayerForm(s, -1, nil).show() })
	note := widget.NewLabel("Top of the list is drawn on top.")
	note.Importance = widget.LowImportance
	p.content = container.NewBorder(container.NewVBox(p.scenes, p.add, note), nil, nil, nil,
		container.NewVScroll(container.NewVBox(p.overlays, p.program, p.layers)))
	return p
}

// sceneLayers is the scene as the master composes it, bottom first. An
// empty scene is one full-frame layer of the encoder's source.
func sceneLayers(st *pb.MasterStatus) []*pb.Layer {
	if len(st.GetScene()) > 0 {
		out := make([]*pb.Layer, len(st.GetScene()))
		for i, l := range st.GetScene() {
			out[i] = proto.Clone(l).(*pb.Layer)
		}
		return out
	}
	if src := st.GetSettings().GetSource(); src != "" && src != "auto" {
		return []*pb.Layer{{Source: src, Opacity: 1}}
	}
	return nil
}

// updateScenes rebuilds the scene buttons when the scenes or the one on
// air changed; the scene on air is the highlighted one.
func (p *scenePanel) updateScenes(st *pb.MasterStatus) {
	p.studioOn = st.GetPreviewScene() != ""
	if p.studioMode.Checked != p.studioOn {
		p.studioMode.Checked = p.studioOn // not SetChecked: that would call the master back
		p.studioMode.Refresh()
	}
	if p.studioOn {
		p.transition.Show()
	} else {
		p.transition.Hide()
	}
	key := st.GetProgramScene() + "\x00" + st.GetPreviewScene() + "\x00" + strings.Join(st.GetSceneNames(), "\x00")
	if key == p.sceneKey {
		return
	}
	p.sceneKey = key
	p.scenes.RemoveAll()
	p.sceneButton = map[string]*widget.Button{}
	if len(st.GetSceneNames()) == 0 {
		return
	}
	hint := "Scenes (click to put on air):"
	if p.studioOn {
		hint = "Scenes (click to preview; Transition puts the preview on air):"
	}
	p.scenes.Add(widget.NewLabel(hint))
	for _, name := range st.GetSceneNames() {
		b := widget.NewButton(name, func() { p.clicked(name) })
		switch name {
		case st.GetProgramScene():
			b.Importance = widget.HighImportance
		case st.GetPreviewScene():
			b.Importance = widget.WarningImportance
		}
		p.sceneButton[name] = b
		p.scenes.Add(b)
	}
	p.scenes.Add(container.NewHBox(p.studioMode, p.transition))
	p.scenes.Add(widget.NewSeparator())
}

// clicked puts a scene on air, or in the preview in studio mode.
func (p *scenePanel) clicked(name string) {
	if p.studioOn {
		p.s.call("Preview scene", func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
			return c.SetPreviewScene(ctx, &pb.SceneRequest{Name: name})
		}, nil)
		return
	}
	p.switchTo(name)
}

// setStudioMode turns studio mode on with the scene on air in the preview
// (to edit a copy of the moment), or off.
func (p *scenePanel) setStudioMode(on bool) {
	name := ""
	if on && p.s.status != nil {
		name = p.s.status.GetProgramScene()
	}
	p.s.call("Studio mode", func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
		return c.SetPreviewScene(ctx, &pb.SceneRequest{Name: name})
	}, nil)
}

// switchTo puts a scene on air with the default transition (a fade).
func (p *scenePanel) switchTo(name string) {
	p.s.call("Switch scene", func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
		return c.SwitchScene(ctx, &pb.SwitchSceneRequest{Name: name})
	}, nil)
}

func (p *scenePanel) update(st *pb.MasterStatus) {
	p.updateScenes(st)
	layers := sceneLayers(st)
	filtered := filterLines(st)
	if !sameLayers(layers, p.shown) || !maps.Equal(filtered, p.filtered) || len(p.program.Objects) == 0 {
		p.shown, p.filtered = layers, filtered
		p.layers.RemoveAll()
		p.visibility = map[int]*widget.Button{}
		clear(p.filterButtons)
		clear(p.addFilter)
		for i := len(layers) - 1; i >= 0; i-- {
			p.layers.Add(p.layerRow(i, layers))
		}
		p.program.RemoveAll()
		label := "Program filters: none"
		if f := filtered[""]; f != "" {
			label = "Program filters: " + f
		}
		p.program.Add(widget.NewLabel(label))
		p.program.Add(filterControls(p.s, "", p.filterButtons, p.addFilter))
		p.program.Add(widget.NewSeparator())
	}
	var lines []string
	for _, pl := range st.GetPlugins() {
		pos := pl.GetParams()["position"]
		if pos == "" {
			pos = "its own place"
		}
		lines = append(lines, fmt.Sprintf("Plugin overlay: %s (%s), at %s", pl.GetName(), pl.GetState(), pos))
	}
	if key := strings.Join(lines, "\n"); key != p.overlaid {
		p.overlaid = key
		p.overlays.RemoveAll()
		for _, l := range lines {
			p.overlays.Add(container.NewVBox(widget.NewLabel(l), widget.NewSeparator()))
		}
	}
}

func sameLayers(a, b []*pb.Layer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func (p *scenePanel) layerRow(i int, layers []*pb.Layer) fyne.CanvasObject {
	l := layers[i]
	size := "own size"
	if l.GetWidth() > 0 || l.GetHeight() > 0 {
		size = fmt.Sprintf("%dx%d", l.GetWidth(), l.GetHeight())
	}
	desc := widget.NewLabel(fmt.Sprintf("at %d,%d, %s, opacity %.2g", l.GetX(), l.GetY(), size, l.GetOpacity()))
	up := widget.NewButtonWithIcon("", theme.MoveUpIcon(), func() { p.move(i, i+1) })
	down := widget.NewButtonWithIcon("", theme.MoveDownIcon(), func() { p.move(i, i-1) })
	if i == len(layers)-1 {
		up.Disable()
	}
	if i == 0 {
		down.Disable()
	}
	edit := widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() { newLayerForm(p.s, i, l).show() })
	remove := widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() { p.remove(i) })
	visible := widget.NewButtonWithIcon("Hide", theme.VisibilityOffIcon(), func() { p.setHidden(i, true) })
	title := l.GetSource()
	if l.GetName() != "" {
		title = l.GetName() + ": " + title
	}
	if l.GetHidden() {
		visible = widget.NewButtonWithIcon("Show", theme.VisibilityIcon(), func() { p.setHidden(i, false) })
		title += " (hidden)"
	}
	p.visibility[i] = visible
	row := container.NewVBox(bold(title), desc)
	name := l.GetName()
	if name == "" {
		name = l.GetSource()
	}
	if f := p.filtered[name]; f != "" {
		row.Add(widget.NewLabel("Filters: " + f))
	}
	row.Add(filterControls(p.s, name, p.filterButtons, p.addFilter))
	row.Add(container.NewHBox(up, down, visible, edit, remove))
	row.Add(widget.NewSeparator())
	return row
}

// filterLines is, by layer name ("" for the program), its filters in
// order, each with its plugin's binary and whether it is attached now.
func filterLines(st *pb.MasterStatus) map[string]string {
	attached := map[string]bool{}
	for _, f := range st.GetEncoder().GetFilters() {
		attached[f.GetName()] = f.GetAttached()
	}
	out := map[string]string{}
	for _, f := range st.GetFilterList() {
		binary, state := f.GetBinary(), "attached"
		if binary == "" {
			binary = f.GetName()
		}
		if !attached[f.GetName()] {
			state = "not attached: airs unfiltered"
		}
		line := fmt.Sprintf("%s (%s, %s)", f.GetName(), binary, state)
		if prev := out[f.GetLayer()]; prev != "" {
			line = prev + ", then " + line
		}
		out[f.GetLayer()] = line
	}
	return out
}

// setHidden hides or shows layer i; it keeps its place in the stack.
func (p *scenePanel) setHidden(i int, hidden bool) {
	layers := sceneLayers(p.s.status)
	if i >= len(layers) {
		return
	}
	layers[i].Hidden = hidden
	p.s.setScene("Hide or show source", layers)
}

// move swaps layer i with layer j (bottom first), one step up or down.
func (p *scenePanel) move(i, j int) {
	layers := sceneLayers(p.s.status)
	if i < 0 || j < 0 || i >= len(layers) || j >= len(layers) {
		return
	}
	layers[i], layers[j] = layers[j], layers[i]
	p.s.setScene("Reorder sources", layers)
}

func (p *scenePanel) remove(i int) {
	layers := sceneLayers(p.s.status)
	if i >= len(layers) {
		return
	}
	p.s.setScene("Remove source", append(layers[:i], layers[i+1:]...))
}

func (s *Studio) setScene(what string, layers []*pb.Layer) {
	s.call(what, func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
		return c.SetScene(ctx, &pb.Scene{Layers: layers})
	}, nil)
}
