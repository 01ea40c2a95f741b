package pluginhost

import (
	"log/slog"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settle is how long the plugins directory must be quiet after a change
// before plugins are checked: an install renames the binary and then
// rewrites the manifest, and both should be seen as one change.
const settle = 100 * time.Millisecond

// dirWatch tells the service when something in the plugins directory
// changed, once the changes settle.
type dirWatch struct {
	w       *fsnotify.Watcher
	log     *slog.Logger
	dir     string
	changed func()
}

func newDirWatch(log *slog.Logger, changed func()) *dirWatch {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Warn("plugins directory not watched: a new plugin binary is picked up only on restart", "err", err)
		return &dirWatch{log: log, changed: changed}
	}
	d := &dirWatch{w: w, log: log, changed: changed}
	go d.run()
	return d
}

// watch makes dir the watched directory. Called with the service lock held.
func (d *dirWatch) watch(dir string) {
	if d.w == nil || dir == d.dir {
		return
	}
	if d.dir != "" {
		_ = d.w.Remove(d.dir)
	}
	d.dir = dir
	if err := d.w.Add(dir); err != nil {
		d.log.Warn("plugins directory not watched: a new plugin binary is picked up only on restart",
			"dir", dir, "err", err)
		d.dir = ""
	}
}

func (d *dirWatch) run() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case _, ok := <-d.w.Events:
			if !ok {
				timer.Stop()
				return
			}
			timer.Reset(settle)
		case err, ok := <-d.w.Errors:
			if !ok {
				return
			}
			// An overflow loses events: check everything as if one came.
			d.log.Warn("watching the plugins directory", "err", err)
			timer.Reset(settle)
		case <-timer.C:
			d.changed()
		}
	}
}

func (d *dirWatch) close() {
	if d.w != nil {
		_ = d.w.Close()
	}
}
