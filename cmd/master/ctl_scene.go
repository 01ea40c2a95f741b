package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/master"
	"github.com/onair-studio/onair/stub/pb"
)

// sceneCollection is an exported scene collection: a config file with
// only its scenes: section.
type sceneCollection struct {
	Scenes config.Scenes `yaml:"scenes"`
}

const ctlSceneUsage = `usage: master ctl scene [COMMAND]
  list                 the scenes, their layers, and which is on air (*)
  switch NAME [-transition cut|fade|slide] [-duration 300ms]
                       put scene NAME on air (default: a 300 ms fade)
  add NAME             add an empty scene
  rm NAME              remove a scene that is not on air
  rename NAME NEW      rename a scene
  preview NAME|off     studio mode: edit NAME in the preview while the program stays (off: studio mode off)
  transition [-transition cut|fade|slide] [-duration 300ms]
                       studio mode: put the preview on air, the program into the preview
  export FILE          write the scene collection to FILE (YAML, a config's scenes: section)
  import FILE          replace the scene collection with FILE's (the scene on air stays if FILE has it)`

// ctlScene lists, switches and edits the scenes: the command a stream
// deck or a script runs on a key press.
func ctlScene(ctx context.Context, c pb.ControlClient, args []string, out io.Writer) error {
	usage := func(format string, a ...any) error {
		return usageError{fmt.Errorf(format+"\n%s", append(a, ctlSceneUsage)...)}
	}
	if len(args) == 0 || args[0] == "list" {
		list, err := c.ListScenes(ctx, &pb.Empty{})
		if err != nil {
			return err
		}
		printScenes(out, list)
		return nil
	}
	if args[0] == "help" {
		_, err := fmt.Fprintln(out, ctlSceneUsage)
		return err
	}
	if args[0] == "transition" {
		kind, dur, err := transitionFlags("scene transition", args[1:])
		if err != nil {
			return usage("scene transition: %v", err)
		}
		_, err = c.Transition(ctx, &pb.SwitchSceneRequest{Transition: kind, DurationMs: dur})
		return err
	}
	if len(args) < 2 {
		return usage("scene %s: name the scene", args[0])
	}
	name := args[1]
	var err error
	switch args[0] {
	case "switch":
		kind, dur, ferr := transitionFlags("scene switch", args[2:])
		if ferr != nil {
			return usage("scene switch %s: %v", name, ferr)
		}
		_, err = c.SwitchScene(ctx, &pb.SwitchSceneRequest{Name: name, Transition: kind, DurationMs: dur})
	case "preview":
		if name == "off" {
			name = ""
		}
		_, err = c.SetPreviewScene(ctx, &pb.SceneRequest{Name: name})
	case "add":
		_, err = c.AddScene(ctx, &pb.NamedScene{Name: name})
	case "rm":
		_, err = c.RemoveScene(ctx, &pb.SceneRequest{Name: name})
	case "export":
		list, lerr := c.ListScenes(ctx, &pb.Empty{})
		if lerr != nil {
			return lerr
		}
		data, yerr := yaml.Marshal(sceneCollection{Scenes: master.ScenesFromPB(list)})
		if yerr != nil {
			return yerr
		}
		if err := os.WriteFile(name, data, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(out, "%d scenes written to %s\n", len(list.GetScenes()), name)
		return nil
	case "import":
		// Read as a config file: the same checks, with FILE:LINE: KEY.
		cfg, lerr := config.Load(name)
		if lerr != nil {
			return lerr
		}
		if len(cfg.Scenes.List) == 0 {
			return fmt.Errorf("%s: no scenes: section with scenes in it", name)
		}
		list := master.ScenesToPB(cfg.Scenes)
		list.Program = "" // importing does not switch, unless the scene on air is gone
		_, err = c.SetScenes(ctx, list)
		if err == nil {
			fmt.Fprintf(out, "%d scenes imported from %s\n", len(list.GetScenes()), name)
		}
	case "rename":
		if len(args) != 3 {
			return usage("scene rename %s: give the new name", name)
		}
		_, err = c.RenameScene(ctx, &pb.RenameSceneRequest{Name: name, NewName: args[2]})
	default:
		return usage("unknown scene command %q", args[0])
	}
	return err
}

// transitionFlags reads -transition and -duration.
func transitionFlags(name string, args []string) (kind string, ms int32, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	k := fs.String("transition", "fade", "cut, fade or slide")
	dur := fs.Duration("duration", 0, "how long the transition takes (0: 300ms)")
	if err := fs.Parse(args); err != nil {
		return "", 0, err
	}
	if fs.NArg() > 0 {
		return "", 0, fmt.Errorf("unexpected %q", fs.Arg(0))
	}
	return *k, int32(dur.Milliseconds()), nil
}

func printScenes(out io.Writer, list *pb.SceneList) {
	if len(list.GetScenes()) == 0 {
		fmt.Fprintln(out, "no scenes: the program is the encoder's layers")
		return
	}
	for _, sc := range list.GetScenes() {
		mark := " "
		if sc.GetName() == list.GetProgram() {
			mark = "*"
		}
		fmt.Fprintf(out, "%s %s\n", mark, sc.GetName())
		for i, l := range sc.GetLayers() {
			var notes []string
			if l.GetName() != "" {
				notes = append(notes, l.GetName())
			}
			if l.GetHidden() {
				notes = append(notes, "hidden")
			}
			fmt.Fprintf(out, "    %d %s at %d,%d %dx%d opacity %g %s\n", i, l.GetSource(), l.GetX(), l.GetY(),
				l.GetWidth(), l.GetHeight(), l.GetOpacity(), strings.Join(notes, ", "))
		}
	}
}
