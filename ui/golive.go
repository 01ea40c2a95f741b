package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/onair-studio/onair/stub/pb"
)

// liveBar is Go Live / Stop, Record / Stop recording and the on-air sign.
// Go Live sits first, top left, where a streamer's eye and mouse go.
type liveBar struct {
	s       *Studio
	goLive  *widget.Button
	record  *widget.Button
	onAir   *widget.Label
	busy    bool
	content fyne.CanvasObject
}

func newLiveBar(s *Studio) *liveBar {
	b := &liveBar{s: s}
	b.goLive = widget.NewButtonWithIcon("Go Live", theme.MediaPlayIcon(), b.toggleLive)
	b.goLive.Importance = widget.HighImportance
	b.record = widget.NewButtonWithIcon("Record", theme.MediaRecordIcon(), b.toggleRecord)
	b.onAir = widget.NewLabelWithStyle("OFF AIR", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	b.content = container.NewHBox(b.goLive, b.record, b.onAir)
	b.refresh()
	return b
}

func (b *liveBar) live() bool { return b.s.status.GetLive() }

func (b *liveBar) recording() bool { return b.s.status.GetRecording().GetState() == "recording" }

func (b *liveBar) toggleLive() {
	b.busy = true
	b.refresh()
	if b.live() {
		b.s.call("Stop", func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
			return c.Stop(ctx, &pb.Empty{})
		}, b.done)
		return
	}
	b.s.call("Go Live", func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
		return c.Start(ctx, &pb.Empty{})
	}, b.done)
}

func (b *liveBar) toggleRecord() {
	stop := b.recording()
	b.s.call("Record", func(ctx context.Context, c pb.ControlClient) (*pb.MasterStatus, error) {
		return c.Record(ctx, &pb.RecordRequest{Stop: stop})
	}, nil)
}

func (b *liveBar) done(error) {
	b.busy = false
	b.refresh()
}

func (b *liveBar) update(*pb.MasterStatus) { b.refresh() }

func (b *liveBar) refresh() {
	if b.live() {
		b.goLive.SetText("Stop")
		b.goLive.SetIcon(theme.MediaStopIcon())
		b.goLive.Importance = widget.DangerImportance
		b.onAir.SetText("LIVE")
		b.onAir.Importance = widget.DangerImportance
	} else {
		b.goLive.SetText("Go Live")
		b.goLive.SetIcon(theme.MediaPlayIcon())
		b.goLive.Importance = widget.HighImportance
		b.onAir.SetText("OFF AIR")
		b.onAir.Importance = widget.MediumImportance
	}
	if b.recording() {
		b.record.SetText("Stop recording")
	} else {
		b.record.SetText("Record")
	}
	if b.busy || !b.s.connected() {
		b.goLive.Disable()
		b.record.Disable()
	} else {
		b.goLive.Enable()
		b.record.Enable()
	}
	b.goLive.Refresh()
	b.onAir.Refresh()
}
