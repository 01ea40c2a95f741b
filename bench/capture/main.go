// Command capture measures screen capture of a 1920x1080 display under a
// private Xvfb that it starts and stops itself: OnAir's capture loop, which
// keeps one X connection and one MIT-SHM segment for the whole run, against
// screenshot.CaptureRect, which opens both for every call. Both deliver an
// RGBA picture of the whole screen. The target is 6 ms per frame or less
// for ours.
//
// Run it from the repository root (needs the Debian package xvfb):
//
//	go run ./bench/capture               # 100 frames each
//	go run ./bench/capture -frames 300
//
// `make bench` runs the same measurement as BenchmarkCapture1080p.
package main

import (
	"flag"
	"fmt"
	"image"
	"os"
	"time"

	"github.com/kbinani/screenshot"
	"github.com/onair-studio/onair/internal/capture"
	"github.com/onair-studio/onair/internal/capture/xvfb"
)

func main() {
	frames := flag.Int("frames", 100, "frames to capture with each method")
	width := flag.Int("width", 1920, "screen width")
	height := flag.Int("height", 1080, "screen height")
	flag.Parse()
	r, err := measure(*frames, *width, *height)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r.print(*frames, *width, *height)
}

type result struct {
	shm, scaled, screenshot time.Duration // per frame
	usesSHM                 bool
}

func (r result) print(frames, w, h int) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	mode := "MIT-SHM"
	if !r.usesSHM {
		mode = "plain GetImage, no MIT-SHM"
	}
	fmt.Printf("screen capture %dx%d, %d frames each\n", w, h, frames)
	line := func(name string, d time.Duration) { fmt.Printf("  %-34s %6.2f ms/frame\n", name+":", ms(d)) }
	line("onair loop ("+mode+")", r.shm)
	line("onair loop, scaled to 1280x720", r.scaled)
	line("screenshot.CaptureRect", r.screenshot)
	fmt.Printf("  screenshot / onair: %.1fx\n", float64(r.screenshot)/float64(r.shm))
}

func measure(frames, w, h int) (result, error) {
	var r result
	srv, err := xvfb.Start(w, h)
	if err != nil {
		return r, err
	}
	defer srv.Close()
	// screenshot reads the display from the environment.
	old, had := os.LookupEnv("DISPLAY")
	os.Setenv("DISPLAY", srv.Display)
	defer func() {
		if had {
			os.Setenv("DISPLAY", old)
		} else {
			os.Unsetenv("DISPLAY")
		}
	}()

	src, err := capture.Open("screen")
	if err != nil {
		return r, err
	}
	defer src.Close()
	r.usesSHM = capture.UsesSHM(src)
	timeIt := func(f func(i int) error) (time.Duration, error) {
		for i := 0; i < 3; i++ { // warm up
			if err := f(i); err != nil {
				return 0, err
			}
		}
		start := time.Now()
		for i := 0; i < frames; i++ {
			if err := f(i); err != nil {
				return 0, err
			}
		}
		return time.Since(start) / time.Duration(frames), nil
	}

	full := image.NewRGBA(image.Rect(0, 0, w, h))
	if r.shm, err = timeIt(func(i int) error { return src.Read(full, int64(i), time.Now()) }); err != nil {
		return r, err
	}
	small := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	if r.scaled, err = timeIt(func(i int) error { return src.Read(small, int64(i), time.Now()) }); err != nil {
		return r, err
	}
	r.screenshot, err = timeIt(func(int) error {
		_, err := screenshot.CaptureRect(image.Rect(0, 0, w, h))
		return err
	})
	return r, err
}
