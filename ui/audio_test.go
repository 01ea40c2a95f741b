package ui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/onair-studio/onair/stub/pb"
)

// The mixer shows a strip per configured source with what the encoder's
// mixer does with it; moving a volume slider sends the whole setting with
// that value.
func TestMixerSliderSendsSetAudio(t *testing.T) {
	r := newRig(t)
	p := r.studio.audio
	r.await("two strips", func() bool { return len(p.rows) == 2 })
	if got := p.rows[0].state.Text; !strings.Contains(got, "mic: live — capturing microphone") {
		t.Errorf("mic strip says %q", got)
	}
	if got := p.rows[1].state.Text; !strings.Contains(got, "desktop: silent — desktop sound: silent: no output") {
		t.Errorf("desktop strip says %q", got)
	}
	if p.rows[1].mute.Text != "Unmute" || p.rows[0].mute.Text != "Mute" {
		t.Errorf("mute buttons %q %q, want Mute for mic and Unmute for the muted desktop", p.rows[0].mute.Text, p.rows[1].mute.Text)
	}

	p.rows[0].vol.slider.SetValue(-6) // as the user lets go of it at -6 dB
	r.await("SetAudio with mic at -6 dB", func() bool {
		c := oneSpaced(r.master.called("SetAudio"))
		return strings.Contains(c, `source:"mic" volume_db:-6`) && strings.Contains(c, `source:"desktop" muted:true`)
	})
	r.await("the slider's value shown", func() bool { return p.rows[0].vol.label.Text == "-6.0 dB" })

	p.master.slider.SetValue(3)
	r.await("SetAudio with the master volume", func() bool {
		return slices.ContainsFunc(r.master.Calls(), func(c string) bool {
			return strings.HasPrefix(c, "SetAudio") && strings.Contains(oneSpaced(c), "} volume_db:3 ")
		})
	})
	test.Tap(p.rows[1].mute)
	r.await("desktop unmuted", func() bool { return p.rows[1].mute.Text == "Mute" })
}

// A refused change shows the master's message and the strip goes back to
// what the master has. The device picker offers the encoder's devices.
func TestMixerRefusalShowsTheMessage(t *testing.T) {
	r := newRig(t)
	p := r.studio.audio
	r.await("the device list", func() bool { return len(p.rows) == 2 && slices.Contains(p.rows[0].source.Options, "pulse:usb_mic") })
	for _, want := range []string{"auto", "mic", "desktop", "pulse:usb_mic", "tone:1000"} {
		if !slices.Contains(p.rows[0].source.Options, want) {
			t.Errorf("device picker %q lacks %q", p.rows[0].source.Options, want)
		}
	}
	p.rows[0].source.SetSelected("pulse:gone")
	r.await("the refusal shown", func() bool {
		return p.msg.Visible() && strings.Contains(p.msg.Text, `no audio device named "gone"; devices: pulse:usb_mic`)
	})
	if got := p.rows[0].source.Selected; got != "mic" {
		t.Errorf("after the refusal the strip shows %q, want mic as the master has", got)
	}
	if !strings.Contains(test.RenderObjectToMarkup(r.studio.Content()), "no audio device named") {
		t.Error("the refusal is not rendered in the window")
	}
}

// The mix meter follows the master's audio_levels events.
func TestMixerMeterFollowsEvents(t *testing.T) {
	r := newRig(t)
	p := r.studio.audio
	r.master.levels <- &pb.AudioLevels{PeakDbfs: []float64{-12, -30}, RmsDbfs: []float64{-18, -36}}
	r.await("the meter at -12 / -30 dBFS", func() bool {
		return p.meters[0].Value == -12 && p.meters[1].Value == -30 && p.meterText.Text == "mix peak -12.0 / -30.0 dBFS"
	})
	r.master.levels <- &pb.AudioLevels{PeakDbfs: []float64{0.5, -90}, Clipped: 7}
	r.await("a clipping mix", func() bool {
		return p.meters[0].Value == 0 && p.meters[1].Value == meterFloor && strings.Contains(p.meterText.Text, "7 samples clipped")
	})
}

// oneSpaced undoes the text format's random double spaces.
func oneSpaced(s string) string { return strings.Join(strings.Fields(s), " ") }

// A source's strip lists the sound filters on it and whether each is
// attached.
func TestMixerStripListsSoundFilters(t *testing.T) {
	r := newRig(t)
	p := r.studio.audio
	r.master.set(func(st *pb.MasterStatus) {
		st.FilterList = []*pb.FilterEntry{{Name: "gate", Binary: "noisegate", Layer: "sound:mic"}}
		st.Encoder = &pb.EncoderStatus{Filters: []*pb.FilterStatus{{Name: "gate", Attached: true}}}
	})
	r.await("the mic's filter listed", func() bool {
		return len(p.rows) == 2 && strings.Contains(p.rows[0].state.Text, "Filters: gate (noisegate, attached)")
	})
	if strings.Contains(p.rows[1].state.Text, "Filters") {
		t.Errorf("the desktop strip lists a filter: %q", p.rows[1].state.Text)
	}
}
