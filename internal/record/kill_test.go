package record

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/internal/testpeer"
)

// The recorder runs in a child process (this test binary run again as
// TestHelperProcess) that is fed a clip at real time and SIGKILLed part-way:
// the file must still read, holding what was fed up to the last fragment.
func TestSIGKILL(t *testing.T) {
	t.Parallel()
	testpeer.Need(t, "ffmpeg", "ffprobe")
	clipPath := testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 5, FPS: fps})
	// Kill points: mid-GOP, just before a keyframe, just after one.
	for _, killAfter := range []int{47, 89, 121} {
		t.Run(strconv.Itoa(killAfter), func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "show.mp4")
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
			cmd.Env = append(os.Environ(), "ONAIR_RECORD_HELPER=1", "ONAIR_RECORD_CLIP="+clipPath, "ONAIR_RECORD_OUT="+out)
			cmd.Stderr = os.Stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var waitOnce sync.Once
			var waitErr error
			wait := func() error {
				waitOnce.Do(func() { waitErr = cmd.Wait() })
				return waitErr
			}
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				_ = wait()
			})
			// The child reports each frame once its Sink call returned.
			fed := -1
			lines := bufio.NewScanner(stdout)
			for fed < killAfter && lines.Scan() {
				if n, ok := strings.CutPrefix(lines.Text(), "fed "); ok {
					fed, _ = strconv.Atoi(n)
				}
			}
			if fed != killAfter {
				t.Fatalf("the child stopped after frame %d", fed)
			}
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			for lines.Scan() { // what it wrote before it died
				if n, ok := strings.CutPrefix(lines.Text(), "fed "); ok {
					fed, _ = strconv.Atoi(n)
				}
			}
			t.Logf("child: %v", wait())

			fedDur := time.Duration(fed+1) * frameDur
			p := checkPlayable(t, out)
			lost := fedDur - p.Duration
			t.Logf("fed %d frames (%v) before SIGKILL; file: %+v; lost %v", fed+1, fedDur.Round(time.Millisecond), p, lost.Round(time.Millisecond))
			// It loses the fragment being collected (up to MaxFragment, half
			// a second here) and what was still on its way to the disk:
			// within a second in all.
			if p.Packets == 0 || p.Frames != p.Packets || lost < 0 || lost > time.Second {
				t.Errorf("file %+v after feeding %v: want all but at most the last second", p, fedDur)
			}
		})
	}
}

// A recording with sound cut by a SIGKILL ends its picture and its sound
// together: each fragment's pictures wait for the sound that arrives after
// them.
func TestSIGKILLWithSound(t *testing.T) {
	t.Parallel()
	testpeer.Need(t, "ffmpeg", "ffprobe")
	clipPath := testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 5, FPS: fps})
	out := filepath.Join(t.TempDir(), "show.mp4")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "ONAIR_RECORD_HELPER=1", "ONAIR_RECORD_SOUND=1", "ONAIR_RECORD_CLIP="+clipPath, "ONAIR_RECORD_OUT="+out)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	const killAfter = 100 // mid-GOP, a third of a second after a keyframe
	fed := -1
	lines := bufio.NewScanner(stdout)
	for fed < killAfter && lines.Scan() {
		if n, ok := strings.CutPrefix(lines.Text(), "fed "); ok {
			fed, _ = strconv.Atoi(n)
		}
	}
	if fed != killAfter {
		t.Fatalf("the child stopped after frame %d", fed)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	if n := checkSoundWithPicture(t, out); n < fps {
		t.Errorf("%d pictures recorded of %d fed", n, fed+1)
	}
}

const helperFragment = 500 * time.Millisecond

// TestHelperProcess is the child of TestSIGKILL, not a test of its own.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("ONAIR_RECORD_HELPER") != "1" {
		t.Skip("helper process for TestSIGKILL")
	}
	c := clip{aus: testpeer.ReadClip(t, os.Getenv("ONAIR_RECORD_CLIP"), fps)}
	rec, err := New(Config{Path: os.Getenv("ONAIR_RECORD_OUT"), MaxFragment: helperFragment})
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("ONAIR_RECORD_SOUND") == "1" {
		conf, aacs := testpeer.SineAAC(t, 1000, 5)
		rec.SourceStarted("program", stream.Tracks{Audio: conf}) // parameter sets come in-band
		feed, start := &lateSound{rec: rec, aacs: aacs}, time.Now()
		for i, au := range c.aus {
			time.Sleep(time.Until(start.Add(au.PTS)))
			feed.picture(au)
			fmt.Printf("fed %d\n", i)
		}
		os.Exit(3)
	}
	f := &feeder{sink: rec, path: "program", realtime: true}
	f.start(nil, nil) // parameter sets come in-band
	f.feed(c.aus, 0, len(c.aus), time.Now(), func(i int) { fmt.Printf("fed %d\n", i) })
	// Not killed in time: leave the file as it is and fail loudly.
	os.Exit(3)
}
