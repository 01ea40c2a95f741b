package master

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/state"
	"github.com/onair-studio/onair/internal/transition"
	"github.com/onair-studio/onair/stub/pb"
)

// The scene RPCs edit a copy of the desired scenes; the config's own
// checks then decide, so the API refuses exactly what the file would, and
// a refused edit leaves the program untouched. Each edit is saved.

// ListScenes returns every scene and the one on air.
func (m *Master) ListScenes(context.Context, *pb.Empty) (*pb.SceneList, error) {
	return ScenesToPB(m.state.Get().Scenes), nil
}

// SwitchScene puts a scene on air with a transition.
func (m *Master) SwitchScene(ctx context.Context, r *pb.SwitchSceneRequest) (*pb.MasterStatus, error) {
	with, err := transition.Parse(r.GetTransition(), time.Duration(r.GetDurationMs())*time.Millisecond)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return m.editScenesWith(ctx, func(d *state.Desired, s *config.Scenes) error {
		if _, err := find(*s, r.GetName()); err != nil {
			return err
		}
		if s.OnAir().Name != r.GetName() {
			s.Program, d.SwitchedWith = r.GetName(), with
		}
		return nil
	})
}

// SetPreviewScene turns studio mode on with a scene in the preview, or off.
func (m *Master) SetPreviewScene(ctx context.Context, r *pb.SceneRequest) (*pb.MasterStatus, error) {
	return m.editScenes(ctx, func(s *config.Scenes) error {
		if r.GetName() != "" {
			if _, err := find(*s, r.GetName()); err != nil {
				return err
			}
		}
		s.Preview = r.GetName()
		return nil
	})
}

// Transition swaps preview and program, showing the new program with the
// transition asked for.
func (m *Master) Transition(ctx context.Context, r *pb.SwitchSceneRequest) (*pb.MasterStatus, error) {
	with, err := transition.Parse(r.GetTransition(), time.Duration(r.GetDurationMs())*time.Millisecond)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return m.editScenesWith(ctx, func(d *state.Desired, s *config.Scenes) error {
		if s.Preview == "" {
			return status.Error(codes.FailedPrecondition, "studio mode is off: there is no preview to put on air")
		}
		if on := s.OnAir().Name; on != s.Preview {
			s.Program, s.Preview, d.SwitchedWith = s.Preview, on, with
		}
		return nil
	})
}

// AddScene adds a scene at the end of the list.
func (m *Master) AddScene(ctx context.Context, r *pb.NamedScene) (*pb.MasterStatus, error) {
	return m.editScenes(ctx, func(s *config.Scenes) error {
		if s.Find(r.GetName()) >= 0 {
			return status.Errorf(codes.AlreadyExists, "there is already a scene named %q", r.GetName())
		}
		s.List = append(s.List, config.Scene{Name: r.GetName(), Layers: configLayers(r.GetLayers())})
		return nil
	})
}

// RemoveScene removes a scene that is not on air.
func (m *Master) RemoveScene(ctx context.Context, r *pb.SceneRequest) (*pb.MasterStatus, error) {
	return m.editScenes(ctx, func(s *config.Scenes) error {
		i, err := find(*s, r.GetName())
		if err != nil {
			return err
		}
		if s.OnAir().Name == r.GetName() {
			return status.Errorf(codes.FailedPrecondition, "scene %q is on air: switch to another first", r.GetName())
		}
		if s.Preview == r.GetName() {
			return status.Errorf(codes.FailedPrecondition, "scene %q is in the preview: preview another first", r.GetName())
		}
		s.List = slices.Delete(s.List, i, i+1)
		return nil
	})
}

// RenameScene renames a scene; the scene on air stays on air.
func (m *Master) RenameScene(ctx context.Context, r *pb.RenameSceneRequest) (*pb.MasterStatus, error) {
	return m.editScenesWith(ctx, func(d *state.Desired, s *config.Scenes) error {
		i, err := find(*s, r.GetName())
		if err != nil {
			return err
		}
		if r.GetNewName() != r.GetName() && s.Find(r.GetNewName()) >= 0 {
			return status.Errorf(codes.AlreadyExists, "there is already a scene named %q", r.GetNewName())
		}
		if s.OnAir().Name == r.GetName() {
			s.Program = r.GetNewName()
			d.SwitchedWith = transition.T{Kind: transition.Cut} // the same picture under a new name
		}
		if s.Preview == r.GetName() {
			s.Preview = r.GetNewName()
		}
		s.List[i].Name = r.GetNewName()
		return nil
	})
}

// AddLayer puts a layer on top of a scene.
func (m *Master) AddLayer(ctx context.Context, r *pb.LayerRequest) (*pb.MasterStatus, error) {
	return m.editLayers(ctx, r.GetScene(), func(layers []config.Layer) ([]config.Layer, error) {
		if r.GetLayer() == nil {
			return nil, status.Error(codes.InvalidArgument, "no layer to add")
		}
		return append(layers, configLayers([]*pb.Layer{r.GetLayer()})...), nil
	})
}

// RemoveLayer takes a layer out of a scene.
func (m *Master) RemoveLayer(ctx context.Context, r *pb.LayerRequest) (*pb.MasterStatus, error) {
	return m.editLayers(ctx, r.GetScene(), func(layers []config.Layer) ([]config.Layer, error) {
		i, err := layerIndex(layers, r.GetIndex(), "index")
		if err != nil {
			return nil, err
		}
		return slices.Delete(layers, i, i+1), nil
	})
}

// ReorderLayer moves a layer to another place in its scene's stack.
func (m *Master) ReorderLayer(ctx context.Context, r *pb.LayerRequest) (*pb.MasterStatus, error) {
	return m.editLayers(ctx, r.GetScene(), func(layers []config.Layer) ([]config.Layer, error) {
		i, err := layerIndex(layers, r.GetIndex(), "index")
		if err != nil {
			return nil, err
		}
		to, err := layerIndex(layers, r.GetTo(), "to")
		if err != nil {
			return nil, err
		}
		l := layers[i]
		return slices.Insert(slices.Delete(layers, i, i+1), to, l), nil
	})
}

// UpdateLayer replaces one layer's values.
func (m *Master) UpdateLayer(ctx context.Context, r *pb.LayerRequest) (*pb.MasterStatus, error) {
	return m.editLayers(ctx, r.GetScene(), func(layers []config.Layer) ([]config.Layer, error) {
		i, err := layerIndex(layers, r.GetIndex(), "index")
		if err != nil {
			return nil, err
		}
		if r.GetLayer() == nil {
			return nil, status.Error(codes.InvalidArgument, "no layer values")
		}
		layers[i] = configLayers([]*pb.Layer{r.GetLayer()})[0]
		return layers, nil
	})
}

// SetScenes replaces the scene collection.
func (m *Master) SetScenes(ctx context.Context, r *pb.SceneList) (*pb.MasterStatus, error) {
	return m.editScenesWith(ctx, func(d *state.Desired, s *config.Scenes) error {
		onAir := ""
		if sc := s.OnAir(); sc != nil {
			onAir = sc.Name
		}
		next := ScenesFromPB(r)
		if next.Find(s.Preview) >= 0 {
			next.Preview = s.Preview
		}
		if next.Program == "" && next.Find(onAir) >= 0 {
			next.Program = onAir
		}
		if sc := next.OnAir(); sc != nil && sc.Name != onAir {
			d.SwitchedWith = transition.T{Kind: transition.Cut}
		}
		*s = next
		return nil
	})
}

func (m *Master) editScenes(ctx context.Context, edit func(*config.Scenes) error) (*pb.MasterStatus, error) {
	return m.editScenesWith(ctx, func(_ *state.Desired, s *config.Scenes) error { return edit(s) })
}

// editScenesWith runs edit on a copy of the scenes (the desired state's
// slices are shared with earlier copies), and saves the result.
func (m *Master) editScenesWith(ctx context.Context, edit func(*state.Desired, *config.Scenes) error) (*pb.MasterStatus, error) {
	return m.changeChecked(ctx, func(d *state.Desired) error {
		s := cloneScenes(d.Scenes)
		if err := edit(d, &s); err != nil {
			return err
		}
		d.Scenes = s
		return nil
	}, func(c *config.Config) { c.Scenes = m.state.Get().Scenes })
}

// editLayers edits a copy of one scene's layers.
func (m *Master) editLayers(ctx context.Context, scene string, edit func([]config.Layer) ([]config.Layer, error)) (*pb.MasterStatus, error) {
	return m.editScenes(ctx, func(s *config.Scenes) error {
		i, err := find(*s, scene)
		if err != nil {
			return err
		}
		layers, err := edit(s.List[i].Layers)
		if err != nil {
			return err
		}
		s.List[i].Layers = layers
		return nil
	})
}

func cloneScenes(s config.Scenes) config.Scenes {
	out := config.Scenes{Program: s.Program, Preview: s.Preview}
	for _, sc := range s.List {
		out.List = append(out.List, config.Scene{Name: sc.Name, Layers: slices.Clone(sc.Layers)})
	}
	return out
}

// find is the index of the scene named name, or an error that lists the
// scenes there are.
func find(s config.Scenes, name string) (int, error) {
	if i := s.Find(name); i >= 0 {
		return i, nil
	}
	names := make([]string, len(s.List))
	for i, sc := range s.List {
		names[i] = fmt.Sprintf("%q", sc.Name)
	}
	if len(names) == 0 {
		return -1, status.Errorf(codes.NotFound, "no scene named %q: there are no scenes (add one, or a scenes: section to the config)", name)
	}
	return -1, status.Errorf(codes.NotFound, "no scene named %q; the scenes are %s", name, strings.Join(names, ", "))
}

func layerIndex(layers []config.Layer, i int32, what string) (int, error) {
	if i < 0 || int(i) >= len(layers) {
		return 0, status.Errorf(codes.InvalidArgument, "layer %s %d: the scene has layers 0..%d", what, i, len(layers)-1)
	}
	return int(i), nil
}

// ScenesToPB and ScenesFromPB convert a scene collection at the RPC edge;
// the program is the scene on air.
func ScenesToPB(s config.Scenes) *pb.SceneList {
	out := &pb.SceneList{}
	if sc := s.OnAir(); sc != nil {
		out.Program = sc.Name
	}
	for _, sc := range s.List {
		out.Scenes = append(out.Scenes, &pb.NamedScene{Name: sc.Name, Layers: pbLayers(sc.Layers)})
	}
	return out
}

func ScenesFromPB(l *pb.SceneList) config.Scenes {
	out := config.Scenes{Program: l.GetProgram()}
	for _, sc := range l.GetScenes() {
		out.List = append(out.List, config.Scene{Name: sc.GetName(), Layers: configLayers(sc.GetLayers())})
	}
	return out
}

// pbLayers and configLayers convert layers at the RPC edge.
func pbLayers(layers []config.Layer) []*pb.Layer {
	var out []*pb.Layer
	for _, l := range layers {
		opacity := 1.0
		if l.Opacity != nil {
			opacity = *l.Opacity
		}
		out = append(out, &pb.Layer{Source: l.Source, X: int32(l.X), Y: int32(l.Y),
			Width: int32(l.Width), Height: int32(l.Height), Opacity: opacity, Name: l.Name, Hidden: l.Hidden,
			CropLeft: int32(l.Crop.Left), CropTop: int32(l.Crop.Top), CropRight: int32(l.Crop.Right), CropBottom: int32(l.Crop.Bottom)})
	}
	return out
}

func configLayers(layers []*pb.Layer) []config.Layer {
	var out []config.Layer
	for _, l := range layers {
		opacity := l.GetOpacity()
		out = append(out, config.Layer{Source: l.GetSource(), X: int(l.GetX()), Y: int(l.GetY()),
			Width: int(l.GetWidth()), Height: int(l.GetHeight()), Opacity: &opacity, Name: l.GetName(), Hidden: l.GetHidden(),
			Crop: config.Crop{Left: int(l.GetCropLeft()), Top: int(l.GetCropTop()), Right: int(l.GetCropRight()), Bottom: int(l.GetCropBottom())}})
	}
	return out
}
