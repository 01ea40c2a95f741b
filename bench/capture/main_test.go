package main

import (
	"sync"
	"testing"
)

// BenchmarkCapture1080p runs the whole comparison once, whatever b.N is (it
// starts its own Xvfb), and reports both costs and their ratio.
func BenchmarkCapture1080p(b *testing.B) {
	const frames = 60
	once.Do(func() { res, resErr = measure(frames, 1920, 1080) })
	if resErr != nil {
		b.Fatal(resErr)
	}
	res.print(frames, 1920, 1080)
	b.ReportMetric(float64(res.shm.Microseconds())/1000, "onair-ms/frame")
	b.ReportMetric(float64(res.screenshot.Microseconds())/1000, "screenshot-ms/frame")
	b.ReportMetric(float64(res.screenshot)/float64(res.shm), "speedup")
}

var (
	once   sync.Once
	res    result
	resErr error
)
