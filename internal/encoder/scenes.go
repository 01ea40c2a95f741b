package encoder

import (
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/transition"
	"github.com/onair-studio/onair/stub/pb"
)

// switchScene shows a changed scene on the running pipeline: a new scene
// name with the config's transition and its sources opened anew (a media
// file starts from its beginning), new layers under the same name (an
// edit) at once, keeping the sources that did not change. The codec and the return path go on untouched.
func switchScene(p *pipeline, was, now *pb.EncoderConfig) error {
	if was.GetScene() == now.GetScene() && sameLayers(was.GetLayers(), now.GetLayers()) {
		return nil
	}
	if was.GetScene() == now.GetScene() {
		return p.comp.Edit(layers(now)) // what did not change plays on
	}
	with := transition.T{Kind: transition.Cut}
	if now.GetTransition() != "" {
		var err error
		with, err = transition.Parse(now.GetTransition(), time.Duration(now.GetTransitionMs())*time.Millisecond)
		if err != nil {
			return err
		}
	}
	return p.comp.Switch(layers(now), with) // a scene shown anew starts over
}

// sameLayers reports whether a and b are the same stack of layers.
func sameLayers(a, b []*pb.Layer) bool {
	return slices.EqualFunc(a, b, func(x, y *pb.Layer) bool { return proto.Equal(x, y) })
}
