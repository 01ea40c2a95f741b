package main

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/encoder"
	"github.com/onair-studio/onair/internal/testpeer"
)

// The viewer's pictures are scaled to this size: enough to tell the slate
// from the test pattern.
const viewW, viewH = 64, 36

// seen is what a viewer's picture shows, from one pixel near the top left:
// the pattern's grey first bar there, the slate's background colour.
func seen(r *testpeer.PixelReader, p testpeer.Picture) string {
	red, green, blue := r.At(p, viewW/14, viewH/12)
	bg := encoder.SlateBackground
	near := func(a, b uint8) bool { return int(a)-int(b) < 30 && int(b)-int(a) < 30 }
	switch {
	case near(red, bg.R) && near(green, bg.G) && near(blue, bg.B):
		return "slate"
	case red > 150 && green > 150 && blue > 150:
		return "live"
	}
	return "other"
}

// slateSetup streams the pattern to nginx with a viewer decoding pixels,
// once the master holds its slate and the viewer sees the live picture.
func slateSetup(t *testing.T, env []string) (*testpeer.Master, *testpeer.Nginx, *testpeer.PixelReader) {
	t.Helper()
	nginx := testpeer.StartNginx(t, testpeer.NginxOptions{})
	m := startMaster(t, env, "-children", "encoder", "-source", "pattern", "-width", "640", "-height", "360",
		"-dest", nginx.URL("live", "onair"), "-live")
	m.Await("destination live and the slate ready", 20*time.Second, func() bool {
		d := m.Status().GetDestinations()
		return len(d) == 1 && d[0].GetState() == "live" && strings.Contains(m.Out.String(), "slate ready")
	})
	r := testpeer.StartPixelReader(t, nginx.URL("live", "onair"), viewW, viewH)
	m.Await("viewer seeing the live picture", 15*time.Second, func() bool { return countSeen(r, "live") > 30 })
	return m, nginx, r
}

func countSeen(r *testpeer.PixelReader, what string) int {
	n := 0
	for _, p := range r.Pictures() {
		if seen(r, p) == what {
			n++
		}
	}
	return n
}

// liveAfterSlate reports whether, from picture from on, the live picture
// came back after slate pictures.
func liveAfterSlate(r *testpeer.PixelReader, from int) bool {
	slate := false
	for _, p := range r.Pictures()[from:] {
		switch seen(r, p) {
		case "slate":
			slate = true
		case "live":
			if slate {
				return true
			}
		}
	}
	return false
}

// checkViewer asserts the viewer never waited longer than maxGap for a
// picture, is still playing, and the live server saw one publish session.
func checkViewer(t *testing.T, r *testpeer.PixelReader, nginx *testpeer.Nginx, maxGap time.Duration) {
	t.Helper()
	select {
	case <-r.Done():
		t.Fatalf("the viewer stopped: %s", r.Output())
	default:
	}
	pics := r.Pictures()
	var worst time.Duration
	counts := map[string]int{}
	for i, p := range pics {
		counts[seen(r, p)]++
		if i > 0 {
			worst = max(worst, p.At.Sub(pics[i-1].At))
		}
	}
	t.Logf("viewer: %d pictures over %v (%v), longest wait %v", len(pics),
		pics[len(pics)-1].At.Sub(pics[0].At).Round(time.Millisecond), counts, worst.Round(time.Millisecond))
	if worst > maxGap {
		t.Errorf("the viewer waited %v for a picture, want at most %v", worst, maxGap)
	}
	if counts["other"] > len(pics)/20 {
		t.Errorf("%d of %d pictures are neither the pattern nor the slate", counts["other"], len(pics))
	}
	if n := nginx.Publishes("onair"); n != 1 {
		t.Errorf("nginx saw %d publish sessions, want exactly 1", n)
	}
}

// An encoder stopped (SIGSTOP) for 10 s: after a second the viewer sees the
// slate instead of a frozen picture, then the live picture again once the
// hang is killed and the encoder restarted, with pictures all along and one
// publish session at the live server.
func TestSlateWhileEncoderHangs(t *testing.T) {
	// Not parallel: it times the viewer's waits.
	m, nginx, r := slateSetup(t, nil)
	pid := int(child(m.Status(), "encoder").GetPid())
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	m.Await("the slate on the viewer's screen and in status", 10*time.Second, func() bool {
		return countSeen(r, "slate") > 10 && slices.Equal(m.Status().GetSlate(), []string{"program"})
	})
	m.Await("the live picture back", 20*time.Second, func() bool { return liveAfterSlate(r, 0) })
	// The scenario is 10 s of stopped encoder: the viewer is watched all that time.
	m.Await("10 s since SIGSTOP", 15*time.Second, func() bool { return time.Since(stopped) >= 10*time.Second })
	_ = syscall.Kill(pid, syscall.SIGCONT) // gone already when the hang was killed
	n := r.Count()
	m.Await("viewer receiving", 10*time.Second, func() bool { return r.Count() > n+30 })
	// The slate starts after a second without pictures; a second more
	// covers a loaded machine's scheduling and the reader.
	checkViewer(t, r, nginx, 2*time.Second)
	if s := m.Status().GetSlate(); len(s) != 0 {
		t.Errorf("status shows the slate on %v with the encoder back", s)
	}
	if !strings.Contains(child(m.Status(), "encoder").GetLastExit(), "hung") {
		t.Errorf("encoder last exit %q, want the hang", child(m.Status(), "encoder").GetLastExit())
	}
}

// Rapid SIGKILLs drive the encoder into its crash loop state: the viewer
// sees the slate, with no wait over 2 s, for as long as the encoder is down;
// status shows the failed encoder's next attempt, and when that slow retry
// succeeds the live picture returns.
func TestSlateThroughCrashLoop(t *testing.T) {
	// Not parallel: it times the viewer's waits.
	m, nginx, r := slateSetup(t, []string{"ONAIR_TEST_FAULTS=1", "ONAIR_TEST_SLOW_RETRY=5s"})
	var last int32
	m.Await("the encoder failed", 30*time.Second, func() bool {
		c := child(m.Status(), "encoder")
		if c.GetState() == "running" && c.GetPid() != last {
			last = c.GetPid()
			_ = syscall.Kill(int(last), syscall.SIGKILL)
		}
		return c.GetState() == "failed"
	})
	failed, from := time.Now(), r.Count()
	if c := child(m.Status(), "encoder"); c.GetNextStartMs() <= 0 {
		t.Fatalf("failed encoder with no next attempt in status: %v", c)
	}
	slate := countSeen(r, "slate")
	m.Await("the slate while failed", 10*time.Second, func() bool { return countSeen(r, "slate") > slate+30 })
	m.Await("the slow retry", 20*time.Second, func() bool { return child(m.Status(), "encoder").GetState() == "running" })
	t.Logf("slow retry after %v", time.Since(failed).Round(time.Millisecond))
	m.Await("the live picture back", 20*time.Second, func() bool { return liveAfterSlate(r, from) })
	n := r.Count()
	m.Await("viewer receiving", 10*time.Second, func() bool { return r.Count() > n+30 })
	checkViewer(t, r, nginx, 2*time.Second)
}
