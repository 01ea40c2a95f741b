package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/audiolimits"
	"github.com/onair-studio/onair/stub/pb"
)

// audioPanel is the mixer: the mix's meter and master volume, and a strip
// per configured source with its volume, mute and device. Every change
// sends the whole setting through SetAudio; a refused one shows why and
// the panel goes back to what the master has.
type audioPanel struct {
	s *Studio
	// meters are the mix's peak per channel, from audio_levels events.
	meters    []*widget.ProgressBar
	meterText *widget.Label
	master    *volume
	summary   *widget.Label // bitrate and the mixer's reason
	msg       *widget.Label // the last refusal
	rows      []*stripRow
	list      *fyne.Container
	add       *widget.Select
	devices   []string // the device picker's choices
	shown     *pb.AudioSettings
	filling   bool // set while the panel shows the master's values
	// filterButtons and addFilter steer each strip's sound filters, by
	// filter name and by "sound:SOURCE"; filterKey is what they were
	// built from, to rebuild them only on change.
	filterButtons map[string]*filterButtons
	addFilter     map[string]*widget.Button
	filterKey     string
	content       fyne.CanvasObject
}

// volume is a dB slider with its value as text.
type volume struct {
	slider *widget.Slider
	label  *widget.Label
}

type stripRow struct {
	source *widget.Select
	vol    *volume
	mute   *widget.Button
	remove *widget.Button
	state  *widget.Label
	// filters holds the strip's sound filter buttons.
	filters *fyne.Container
	box     fyne.CanvasObject
}

// The meter shows peaks from meterFloor dBFS up to full scale.
const meterFloor = -60.0

func newAudioPanel(s *Studio) *audioPanel {
	p := &audioPanel{s: s, meterText: widget.NewLabel("mix: –"), summary: widget.NewLabel(""),
		msg: errorLabel(), list: container.NewVBox(),
		filterButtons: map[string]*filterButtons{}, addFilter: map[string]*widget.Button{}}
	p.summary.Wrapping = fyne.TextWrapWord
	for range 2 {
		b := widget.NewProgressBar()
		b.Min, b.Max = meterFloor, 0
		b.TextFormatter = func() string { return "" }
		p.meters = append(p.meters, b)
	}
	p.master = p.newVolume(func(a *pb.AudioSettings, db float64) { a.VolumeDb = db })
	p.setDevices(nil)
	p.add = widget.NewSelect(nil, func(src string) {
		if p.filling || src == "" {
			return
		}
		p.change(func(a *pb.AudioSettings) { a.Sources = append(a.Sources, &pb.AudioSource{Source: src}) })
		p.filling = true
		p.add.ClearSelected()
		p.filling = false
	})
	p.add.PlaceHolder = "Add a source…"
	p.content = container.NewVScroll(container.NewVBox(
		bold("Mix"), p.meters[0], p.meters[1], p.meterText,
		grid(widget.NewLabel("Master volume"), container.NewBorder(nil, nil, nil, p.master.label, p.master.slider)),
		p.summary, p.msg, widget.NewSeparator(),
		p.list, p.add,
	))
	return p
}

// newVolume is a slider that sends set's change when the user lets go.
func (p *audioPanel) newVolume(set func(*pb.AudioSettings, float64)) *volume {
	v := &volume{slider: widget.NewSlider(audiolimits.VolumeMinDB, audiolimits.VolumeMaxDB), label: widget.NewLabel("")}
	v.slider.Step = 0.5
	v.slider.OnChanged = func(db float64) { v.label.SetText(dB(db)) }
	v.slider.OnChangeEnded = func(db float64) {
		if !p.filling {
			p.change(func(a *pb.AudioSettings) { set(a, db) })
		}
	}
	return v
}

func (v *volume) show(db float64) {
	v.slider.SetValue(db)
	v.label.SetText(dB(db))
}

func dB(v float64) string { return fmt.Sprintf("%+.1f dB", v) }

// change sends the shown settings with one change.
func (p *audioPanel) change(edit func(*pb.AudioSettings)) {
	a := &pb.AudioSettings{}
	if p.shown != nil {
		a = proto.Clone(p.shown).(*pb.AudioSettings)
	}
	edit(a)
	p.s.call("Audio", func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
		return c.SetAudio(ctx, a)
	}, func(err error) {
		if err != nil {
			p.msg.SetText("Audio: " + errText(err))
			p.msg.Show()
			p.fill(p.shown) // back to what the master has
		} else {
			p.msg.Hide()
		}
	})
}

// setDevices makes the device picker's choices: the named sources, each
// device the encoder listed, and a test tone.
func (p *audioPanel) setDevices(list *pb.AudioDeviceList) {
	p.devices = []string{audiolimits.SourceAuto, audiolimits.SourceMic, audiolimits.SourceDesktop}
	for _, d := range list.GetDevices() {
		p.devices = append(p.devices, audiolimits.PulsePrefix+d.GetName())
	}
	p.devices = append(p.devices, "tone:1000", audiolimits.SourceNone)
	if p.add != nil {
		p.add.SetOptions(p.devices)
	}
	for _, r := range p.rows {
		r.source.SetOptions(p.choices(r.source.Selected))
	}
}

// choices are the device picker's, with the current source kept even when
// no device list names it.
func (p *audioPanel) choices(current string) []string {
	if current == "" || slices.Contains(p.devices, current) {
		return p.devices
	}
	return append([]string{current}, p.devices...)
}

// loadDevices asks the master for the encoder's devices, off the UI
// goroutine.
func (p *audioPanel) loadDevices(c pb.ControlClient) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), defaultCallTimeout)
		list, err := c.AudioDevices(ctx, &pb.Empty{})
		cancel()
		if err != nil {
			return // the named sources and the tone remain
		}
		p.s.opt.Do(func() { p.setDevices(list) })
	}()
}

// levels shows a meter reading.
func (p *audioPanel) levels(l *pb.AudioLevels) {
	peaks := l.GetPeakDbfs()
	var text []string
	for i, b := range p.meters {
		v := meterFloor
		if i < len(peaks) {
			v = max(meterFloor, min(0, peaks[i]))
			text = append(text, fmt.Sprintf("%.1f", peaks[i]))
		}
		b.SetValue(v)
	}
	t := "mix peak " + strings.Join(text, " / ") + " dBFS"
	if l.GetClipped() > 0 {
		t += fmt.Sprintf(", %d samples clipped", l.GetClipped())
	}
	p.meterText.SetText(t)
}

func (p *audioPanel) update(st *pb.MasterStatus) {
	if a := st.GetAudioSettings(); a != nil && !proto.Equal(a, p.shown) {
		p.fill(a)
	}
	e := st.GetAudio()
	summary := fmt.Sprintf("AAC %d kbit/s", p.shown.GetBitrateKbps())
	switch {
	case e == nil:
		summary += " — no report from the encoder (not running, or without audio)"
	case e.GetError() != "":
		summary += " — no audio track: " + e.GetError()
	case e.GetReason() != "":
		summary += " — " + e.GetReason()
	}
	p.summary.SetText(summary)
	filters := filterLines(st)
	p.updateFilterControls(filters)
	for i, r := range p.rows {
		text := stripState(r.source.Selected, e)
		if ms := p.shown.GetSources()[i].GetOffsetMs(); ms != 0 {
			text = fmt.Sprintf("offset %d ms · %s", ms, text)
		}
		if f := filters[audiolimits.SoundPrefix+r.source.Selected]; f != "" {
			text += "\nFilters: " + f
		}
		r.state.SetText(text)
	}
}

// stripState says what the encoder's mixer does with a configured source:
// one strip, or (auto) the strips opened from it.
func stripState(source string, e *pb.AudioStatus) string {
	var parts []string
	for _, s := range e.GetStrips() {
		if s.GetName() != source && s.GetFrom() != source {
			continue
		}
		state := "silent"
		if s.GetLive() {
			state = "live"
		}
		line := s.GetName() + ": " + state
		if s.GetReason() != "" {
			line += " — " + s.GetReason()
		}
		parts = append(parts, line)
	}
	if len(parts) == 0 {
		return "not in the mixer yet"
	}
	return strings.Join(parts, "\n")
}

// fill shows the master's settings, rebuilding the strips when the sources
// changed.
func (p *audioPanel) fill(a *pb.AudioSettings) {
	p.shown = a
	p.filling = true
	defer func() { p.filling = false }()
	p.master.show(a.GetVolumeDb())
	srcs := a.GetSources()
	if len(srcs) != len(p.rows) {
		p.list.RemoveAll()
		p.rows = nil
		for i := range srcs {
			r := p.newRow(i)
			p.rows = append(p.rows, r)
			p.list.Add(r.box)
		}
	}
	for i, s := range srcs {
		r := p.rows[i]
		r.source.SetOptions(p.choices(s.GetSource()))
		r.source.SetSelected(s.GetSource())
		r.vol.show(s.GetVolumeDb())
		if s.GetMuted() {
			r.mute.SetText("Unmute")
			r.mute.Importance = widget.DangerImportance
		} else {
			r.mute.SetText("Mute")
			r.mute.Importance = widget.MediumImportance
		}
		r.mute.Refresh()
	}
}

// newRow is the strip of source i.
func (p *audioPanel) newRow(i int) *stripRow {
	src := func(a *pb.AudioSettings) *pb.AudioSource { return a.GetSources()[i] }
	r := &stripRow{state: widget.NewLabel(""), filters: container.NewVBox()}
	r.state.Wrapping = fyne.TextWrapWord
	r.state.Importance = widget.LowImportance
	r.source = widget.NewSelect(p.devices, func(s string) {
		if !p.filling {
			p.change(func(a *pb.AudioSettings) { src(a).Source = s })
		}
	})
	r.vol = p.newVolume(func(a *pb.AudioSettings, db float64) { src(a).VolumeDb = db })
	r.mute = widget.NewButton("Mute", func() {
		p.change(func(a *pb.AudioSettings) { src(a).Muted = !src(a).GetMuted() })
	})
	r.remove = widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
		p.change(func(a *pb.AudioSettings) { a.Sources = slices.Delete(a.Sources, i, i+1) })
	})
	r.box = container.NewVBox(
		container.NewBorder(nil, nil, nil, container.NewHBox(r.mute, r.remove), r.source),
		container.NewBorder(nil, nil, nil, r.vol.label, r.vol.slider),
		r.state, r.filters, widget.NewSeparator())
	return r
}

// updateFilterControls rebuilds the strips' filter buttons when a strip's
// source or its filters changed.
func (p *audioPanel) updateFilterControls(filters map[string]string) {
	var key []string
	for _, r := range p.rows {
		key = append(key, r.source.Selected, filters[audiolimits.SoundPrefix+r.source.Selected])
	}
	if k := strings.Join(key, "\x00"); k != p.filterKey || p.filterKey == "" {
		p.filterKey = k
		clear(p.filterButtons)
		clear(p.addFilter)
		for _, r := range p.rows {
			r.filters.RemoveAll()
			r.filters.Add(filterControls(p.s, audiolimits.SoundPrefix+r.source.Selected, p.filterButtons, p.addFilter))
		}
	}
}
