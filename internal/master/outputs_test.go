package master

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/internal/testpeer"
)

// Editing, re-keying or removing a destination whose live server hangs
// (SIGSTOP, its socket full, so closing it waits out the graceful close)
// costs the other destinations nothing: their frames keep flowing while it
// closes.
func TestClosingAHungDestinationStallsNoOther(t *testing.T) {
	aus := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 2, Width: 1280, Height: 720}), 60)
	for name, change := range map[string]func(o *outputs) error{
		"edit": func(o *outputs) error {
			old := o.destinations()[1]
			d := old
			d.Name = "renamed"
			if err := o.keys.set(d.Name, "hungkey"); err != nil { // the key follows, as an API edit does
				return err
			}
			if !o.replace(1, old, d) {
				t.Error("the edit was refused")
			}
			return nil
		},
		"key": func(o *outputs) error { return o.setKey("hung", "other") },
		"remove": func(o *outputs) error {
			if _, ok := o.remove(1); !ok {
				t.Error("the remove was refused")
			}
			return nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			healthy, hung := testpeer.StartNginx(t, testpeer.NginxOptions{}), testpeer.StartNginx(t, testpeer.NginxOptions{})
			keys := keyStore{dir: t.TempDir()}
			if err := keys.set("hung", "hungkey"); err != nil {
				t.Fatal(err)
			}
			o := newOutputs([]config.Destination{
				{Name: "healthy", URL: healthy.URL("live", "healthykey")},
				{Name: "hung", URL: "rtmp://" + hung.Addr() + "/live"},
			}, keys, config.Default().Retry, func() {}, testpeer.Logger(t))
			o.setLive(true)
			t.Cleanup(o.close)
			stopFeeding := feedProgram(t, o, aus)
			t.Cleanup(stopFeeding)

			testpeer.Await(t, 15*time.Second, "both destinations live", func() bool {
				st := o.status()
				return st[0].GetState() == "live" && st[1].GetState() == "live" && st[1].GetFramesSent() > 0
			})
			if err := syscall.Kill(hung.PID(), syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = syscall.Kill(hung.PID(), syscall.SIGCONT) })
			// Dropping frames means its socket has been full for a while:
			// a graceful close now waits for a server that reads nothing.
			testpeer.Await(t, 30*time.Second, "the hung server's destination dropping frames, still connected", func() bool {
				st := o.status()[1]
				return st.GetFramesDropped() > 0 && st.GetState() == "live"
			})

			o.mu.Lock()
			other := o.dests[0]
			o.mu.Unlock()
			before := other.Status().FramesSent
			done := make(chan error, 1)
			start := time.Now()
			go func() { done <- change(o) }()
			var flowed bool
			testpeer.Await(t, 30*time.Second, "the other destination sending or the change done", func() bool {
				if other.Status().FramesSent >= before+10 {
					flowed = true
					return true
				}
				select {
				case err := <-done:
					done <- err
					return true
				default:
					return false
				}
			})
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if !flowed {
				t.Fatalf("the other destination sent %d frames while the change took %v, want it to keep streaming",
					other.Status().FramesSent-before, took.Round(time.Millisecond))
			}
			t.Logf("the change took %v; the other destination sent %d frames meanwhile",
				took.Round(time.Millisecond), other.Status().FramesSent-before)
		})
	}
}

// feedProgram hands the clip to o as the encoder's program, looped at 60
// frames a second, until the returned stop is called.
func feedProgram(t *testing.T, o *outputs, aus []testpeer.AccessUnit) (stop func()) {
	t.Helper()
	var sps, pps []byte
	for _, n := range aus[0].NALUs {
		switch n[0] & 0x1f {
		case 7:
			sps = n
		case 8:
			pps = n
		}
	}
	if sps == nil || pps == nil {
		t.Fatal("the clip starts without SPS and PPS")
	}
	o.SourceStarted(programPath, stream.Tracks{Video: &stream.H264{SPS: sps, PPS: pps}})
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second / 60)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			o.Unit(programPath, stream.VideoUnit(aus[i%len(aus)].NALUs, time.Duration(i)*time.Second/60))
		}
	}()
	return func() { close(quit); <-finished }
}

// A key for a name no destination has is refused and stored nowhere.
func TestKeyForNoDestinationStoresNothing(t *testing.T) {
	keys := keyStore{dir: t.TempDir()}
	o := newOutputs([]config.Destination{{Name: "main", Service: "twitch"}}, keys, config.Default().Retry, func() {}, testpeer.Logger(t))
	if err := o.setKey("nosuch", "sk_stray"); err == nil || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Fatalf("key set for no destination: %v", err)
	}
	if left, err := os.ReadDir(keys.dir); err != nil || len(left) != 0 {
		t.Fatalf("the key store holds %v (%v), want nothing", left, err)
	}
	if err := o.setKey("main", "sk_main"); err != nil {
		t.Fatal(err)
	}
	if key, err := keys.get("main"); key != "sk_main" || err != nil {
		t.Fatalf("stored key %q, %v", key, err)
	}
}
