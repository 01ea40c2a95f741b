package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/limits"
	"github.com/onair-studio/onair/stub/pb"
	"github.com/onair-studio/onair/ui/validate"
)

// encoderPanel edits the video settings and shows what the backend probe
// found. While the user edits, status events do not overwrite the fields.
type encoderPanel struct {
	s                    *Studio
	width, height, fps   *field
	bitrate, keyframe    *field
	source               *field
	preset, backend      *widget.Select
	form                 form
	apply, revert        *widget.Button
	inUse, refused, errs *widget.Label
	stages               *widget.Label // time per frame in each stage
	dirty, filling       bool
	shown                *pb.EncoderSettings
	content              fyne.CanvasObject
}

func newEncoderPanel(s *Studio) *encoderPanel {
	p := &encoderPanel{s: s}
	add := func(label string, check func(string) error) *field {
		return p.form.add(newField(label, widget.NewEntry(), check))
	}
	p.width = add("Width", validate.Even(16, 7680))
	p.height = add("Height", validate.Even(16, 4320))
	p.fps = add("Frame rate", validate.IntIn(1, limits.MaxFPS, "fps"))
	p.bitrate = add("Bitrate", validate.Bitrate)
	p.keyframe = add("Keyframe interval", validate.IntIn(1, 20, "s"))
	p.source = add("Source", validate.Source)
	p.preset = widget.NewSelect(config.Presets, func(string) { p.edited() })
	p.backend = widget.NewSelect(config.Backends, func(string) { p.edited() })
	for _, f := range p.form.fields {
		f := f
		f.entry.OnChanged = func(string) { f.touched = true; p.edited() }
	}
	p.form.extra = func() bool { return p.preset.Selected != "" && p.backend.Selected != "" }
	p.apply = widget.NewButton("Apply", p.submit)
	p.apply.Importance = widget.HighImportance
	p.revert = widget.NewButton("Revert", func() { p.dirty = false; p.fill(p.shown) })
	p.form.save = p.apply
	p.inUse, p.refused, p.errs = widget.NewLabel(""), widget.NewLabel(""), widget.NewLabel("")
	p.stages = widget.NewLabel("")
	p.stages.TextStyle.Monospace = true // the figures line up in columns
	p.refused.Wrapping = fyne.TextWrapWord
	p.errs.Wrapping = fyne.TextWrapWord
	p.errs.Importance = widget.DangerImportance
	note := widget.NewLabel("A new bitrate applies live; other changes restart the encoder's pipeline.")
	note.Importance = widget.LowImportance
	note.Wrapping = fyne.TextWrapWord
	p.content = container.NewVScroll(container.NewVBox(
		grid(
			widget.NewLabel("Size"), container.NewGridWithColumns(2, p.width.object(), p.height.object()),
			widget.NewLabel("Frame rate"), p.fps.object(),
			widget.NewLabel("Bitrate (kbit/s)"), p.bitrate.object(),
			widget.NewLabel("Keyframe every (s)"), p.keyframe.object(),
			widget.NewLabel("Preset"), p.preset,
			widget.NewLabel("Backend"), p.backend,
			widget.NewLabel("Source"), p.source.object(),
		),
		note, container.NewHBox(p.revert, p.apply),
		widget.NewSeparator(), p.inUse, p.stages, p.refused, p.errs,
	))
	p.apply.Disable()
	return p
}

func (p *encoderPanel) edited() {
	if p.filling {
		return
	}
	p.dirty = true
	p.form.validate()
}

func (p *encoderPanel) update(st *pb.MasterStatus) {
	if set := st.GetSettings(); set != nil && !p.dirty && !proto.Equal(set, p.shown) {
		p.fill(set)
	}
	e := st.GetEncoder()
	if be := e.GetBackend(); be != "" {
		p.inUse.SetText(fmt.Sprintf("In use: %s, %.1f ms per frame", be, e.GetEncodeMsPerFrame()))
	} else {
		p.inUse.SetText("In use: (encoder not running)")
	}
	p.stages.SetText(stagesText(e.GetStages()))
	p.stages.Importance = widget.MediumImportance
	if e.GetStages().GetSkipped() > 0 {
		p.stages.Importance = widget.WarningImportance
	}
	p.stages.Refresh()
	var refused []string
	for _, r := range e.GetRefused() {
		refused = append(refused, r.GetBackend()+": "+r.GetReason())
	}
	if st.GetFallback() != "" {
		refused = append(refused, "fallback: "+st.GetFallback())
	}
	if len(refused) > 0 {
		p.refused.SetText("Not used:\n" + strings.Join(refused, "\n"))
	} else {
		p.refused.SetText("")
	}
	errs := e.GetLayerErrors()
	if e.GetError() != "" {
		errs = append([]string{e.GetError()}, errs...)
	}
	p.errs.SetText(strings.Join(errs, "\n"))
}

// stagesText shows the encoder's last second, one stage a line, the
// slowest marked: where the time goes when frames are skipped.
func stagesText(st *pb.StageTimes) string {
	if len(st.GetStages()) == 0 {
		return ""
	}
	slowest := 0
	for i, s := range st.GetStages() {
		if s.GetMeanMs() > st.GetStages()[slowest].GetMeanMs() {
			slowest = i
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Last second: %d frames, %d skipped. Per frame, mean (max):", st.GetFrames(), st.GetSkipped())
	for i, s := range st.GetStages() {
		fmt.Fprintf(&b, "\n  %-8s %6.1f ms (%.1f)", s.GetName(), s.GetMeanMs(), s.GetMaxMs())
		if i == slowest {
			b.WriteString("  <- slowest")
		}
	}
	return b.String()
}

// fill shows the master's settings, as they are now.
func (p *encoderPanel) fill(set *pb.EncoderSettings) {
	p.shown = set
	p.filling = true
	p.width.entry.SetText(strconv.Itoa(int(set.GetWidth())))
	p.height.entry.SetText(strconv.Itoa(int(set.GetHeight())))
	p.fps.entry.SetText(strconv.Itoa(int(set.GetFps())))
	p.bitrate.entry.SetText(strconv.Itoa(int(set.GetBitrateKbps())))
	p.keyframe.entry.SetText(strconv.Itoa(int(set.GetKeyframeSeconds())))
	p.source.entry.SetText(set.GetSource())
	p.preset.SetSelected(set.GetPreset())
	p.backend.SetSelected(set.GetBackend())
	p.filling = false
	for _, f := range p.form.fields {
		f.touched = false
	}
	p.form.validate()
	p.apply.Disable() // nothing to apply yet
}

func (p *encoderPanel) settings() *pb.EncoderSettings {
	n := func(f *field) int32 { v, _ := strconv.Atoi(strings.TrimSpace(f.entry.Text)); return int32(v) }
	return &pb.EncoderSettings{
		Width: n(p.width), Height: n(p.height), Fps: n(p.fps), BitrateKbps: n(p.bitrate),
		KeyframeSeconds: n(p.keyframe), Preset: p.preset.Selected, Backend: p.backend.Selected,
		Source: strings.TrimSpace(p.source.entry.Text),
	}
}

func (p *encoderPanel) submit() {
	if !p.form.validate() {
		return
	}
	set := p.settings()
	p.apply.Disable()
	p.s.call("Encoder settings", func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
		return c.SetEncoder(ctx, set)
	}, func(err error) {
		if err == nil {
			p.dirty = false
			p.shown = nil // show what the master took
			p.update(p.s.status)
		} else {
			p.form.validate()
		}
	})
}
