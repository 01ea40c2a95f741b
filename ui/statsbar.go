package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/onair-studio/onair/stub/pb"
	"github.com/onair-studio/onair/ui/stats"
)

// statsBar is the line under the preview: fps, outgoing bitrate, skipped
// and dropped frames, CPU.
type statsBar struct {
	fps, kbps, skipped, dropped, cpu, backend *widget.Label
	content                                   fyne.CanvasObject
}

func newStatsBar() *statsBar {
	b := &statsBar{}
	label := func() *widget.Label { return widget.NewLabel("") }
	b.fps, b.kbps, b.skipped, b.dropped, b.cpu, b.backend = label(), label(), label(), label(), label(), label()
	b.content = container.NewHBox(b.fps, b.kbps, b.skipped, b.dropped, b.cpu, b.backend)
	b.update(nil, stats.Reading{CPU: -1})
	return b
}

func (b *statsBar) update(st *pb.MasterStatus, r stats.Reading) {
	if r.Valid {
		b.fps.SetText(fmt.Sprintf("%.1f fps", r.FPS))
		b.kbps.SetText(fmt.Sprintf("%.0f kbit/s out", r.Kbps))
	} else {
		b.fps.SetText("– fps")
		b.kbps.SetText("– kbit/s out")
	}
	b.skipped.SetText(fmt.Sprintf("%d skipped", r.Skipped))
	b.dropped.SetText(fmt.Sprintf("%d dropped", r.Dropped))
	b.skipped.Importance = warnIf(r.Skipped > 0)
	b.dropped.Importance = warnIf(r.Dropped > 0)
	b.skipped.Refresh()
	b.dropped.Refresh()
	if r.Valid && r.CPU >= 0 {
		b.cpu.SetText(fmt.Sprintf("CPU %.0f%%", r.CPU))
	} else {
		b.cpu.SetText("CPU –")
	}
	b.backend.SetText(st.GetEncoder().GetBackend())
}

func warnIf(bad bool) widget.Importance {
	if bad {
		return widget.WarningImportance
	}
	return widget.MediumImportance
}
