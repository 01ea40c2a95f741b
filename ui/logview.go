package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// logKeep is how many recent log lines the view holds.
const logKeep = 300

// logView lists the master's recent log lines, newest at the bottom.
type logView struct {
	lines   []string
	list    *widget.List
	content fyne.CanvasObject
}

func newLogView() *logView {
	v := &logView{}
	v.list = widget.NewList(
		func() int { return len(v.lines) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			l.TextStyle.Monospace = true
			return l
		},
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(v.lines[i]) },
	)
	v.content = v.list
	return v
}

func (v *logView) add(line string) {
	v.lines = append(v.lines, line)
	if len(v.lines) > logKeep {
		v.lines = append(v.lines[:0], v.lines[len(v.lines)-logKeep:]...)
	}
	v.list.Refresh()
	v.list.ScrollToBottom()
}
