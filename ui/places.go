package ui

import (
	"image"

	"fyne.io/fyne/v2"
)

// Places is where the parts a window test clicks are on screen, in window
// pixels: each scene button ("scene:NAME"), "Transition", and "tabs", the
// tab bar down to the shown tab's content (the tab buttons themselves are
// the toolkit's own). Only parts on screen are listed.
func (s *Studio) Places() map[string]image.Rectangle {
	scale := float32(1)
	if s.opt.Window != nil {
		scale = s.opt.Window.Canvas().Scale()
	}
	driver := fyne.CurrentApp().Driver()
	rect := func(p fyne.Position, size fyne.Size) image.Rectangle {
		return image.Rect(int(p.X*scale), int(p.Y*scale), int((p.X+size.Width)*scale), int((p.Y+size.Height)*scale))
	}
	out := map[string]image.Rectangle{}
	if item := s.tabs.Selected(); item != nil {
		p := driver.AbsolutePositionForObject(s.tabs)
		bar := driver.AbsolutePositionForObject(item.Content).Y - p.Y
		out["tabs"] = rect(p, fyne.NewSize(s.tabs.Size().Width, bar))
	}
	if !s.scene.content.Visible() {
		return out
	}
	for name, b := range s.scene.sceneButton {
		out["scene:"+name] = rect(driver.AbsolutePositionForObject(b), b.Size())
	}
	if s.scene.transition.Visible() {
		out["Transition"] = rect(driver.AbsolutePositionForObject(s.scene.transition), s.scene.transition.Size())
	}
	return out
}
