package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/onair-studio/onair/internal/testpeer"
)

// Secrets of the benchmark's SRT and WHIP receivers, given to the master
// the way a user would: through -dest-key-file, never in the arguments.
const (
	srtPass   = "bench-srt-passphrase"
	whipToken = "bench-whip-token"
)

// protocolMaster runs a master streaming the 720p30 test pattern to the
// destinations in dest, with the embedded server off so that nothing else
// is sent, and waits until its encoder runs.
func protocolMaster(b *testing.B, dest ...string) *testpeer.Master {
	args := append([]string{"-children", "encoder", "-source", "pattern", "-width", strconv.Itoa(width), "-height", strconv.Itoa(height),
		"-fps", strconv.Itoa(fps), "-preset", "veryfast", "-rtmp-listen", "", "-live"}, dest...)
	m := testpeer.StartMaster(b, testpeer.Binaries(b), nil, args...)
	m.AwaitConfigured(20*time.Second, "encoder")
	return m
}

// awaitSending waits until the master has dests destinations, each live
// and sending.
func awaitSending(m *testpeer.Master, dests int) {
	m.Await("destinations live", 30*time.Second, func() bool {
		d := m.Status().GetDestinations()
		for _, x := range d {
			if x.GetState() != "live" || x.GetFramesSent() == 0 {
				return false
			}
		}
		return len(d) == dests
	})
}

// keyFile holds a destination's secrets for -dest-key-file.
func keyFile(b *testing.B, secret string) string {
	path := filepath.Join(b.TempDir(), "key")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// srtListener is the URL of an FFmpeg SRT listener the master's SRT
// destination calls.
func srtListener(port int) string {
	return fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&passphrase=%s", port, srtPass)
}

func srtDest(b *testing.B, port int) []string {
	return []string{"-dest", fmt.Sprintf("srt://127.0.0.1:%d?latency=120", port),
		"-dest-key-file", keyFile(b, "streamid=bench&passphrase="+srtPass)}
}

func whipDest(b *testing.B, w *testpeer.WHIPServer) []string {
	return []string{"-dest", "whip+" + w.URL, "-dest-key-file", keyFile(b, "token="+w.Token)}
}

// BenchmarkMasterCPUByProtocol measures the master's CPU at 720p30 with no
// destination, then with one destination of each protocol (nginx for RTMP,
// an FFmpeg SRT listener, the test WHIP endpoint), one at a time; the
// difference is what one destination of that protocol costs. The
// no-destination run is repeated last: the two differ by the measurement's
// noise on this machine. The Opus
// transcoder child of a WHIP destination is not the master and is not
// counted (the pattern source has no sound).
func BenchmarkMasterCPUByProtocol(b *testing.B) {
	cpu := map[string]float64{}
	for _, proto := range []string{"none", "rtmp", "srt", "whip", "none-again"} {
		var dest []string
		switch proto {
		case "rtmp":
			dest = []string{"-dest", testpeer.StartNginx(b, testpeer.NginxOptions{}).URL("live", "bench")}
		case "srt":
			port := testpeer.FreePort(b)
			testpeer.StartReader(b, srtListener(port), testpeer.ReaderOptions{Format: "mpegts", RWTimeout: 30 * time.Second})
			dest = srtDest(b, port)
		case "whip":
			dest = whipDest(b, testpeer.StartWHIPServer(b, whipToken))
		}
		m := protocolMaster(b, dest...)
		awaitSending(m, min(len(dest), 1))
		start, _ := procStat(b, m.Cmd.Process.Pid)
		t0 := time.Now()
		time.Sleep(window) // a measurement window, not a wait for a condition
		end, _ := procStat(b, m.Cmd.Process.Pid)
		cpu[proto] = (end - start) / time.Since(t0).Seconds()
		m.Stop()
	}
	none := (cpu["none"] + cpu["none-again"]) / 2
	fmt.Printf("master CPU at %dx%d %d fps: no destination %.1f%% and %.1f%% of a core; one destination: RTMP %+.1f points, SRT %+.1f, WHIP %+.1f\n",
		width, height, fps, cpu["none"]*100, cpu["none-again"]*100, (cpu["rtmp"]-none)*100, (cpu["srt"]-none)*100, (cpu["whip"]-none)*100)
	for proto, v := range cpu {
		b.ReportMetric(v*100, "cpu%-"+proto)
	}
}

// BenchmarkProtocolLatency measures capture → receiver latency from each
// frame's capture-time SEI: to an FFmpeg SRT listener (the destination at
// latency=120 ms, SRT's buffer included) copying the stream to this
// process, and to the test WHIP endpoint's pion receiver as each RTP packet
// arrives (same machine, same clock).
func BenchmarkProtocolLatency(b *testing.B) {
	const frames = 330
	report := func(name, unit string, lat []time.Duration) {
		lat = lat[30:] // the first frames may wait for the connection
		slices.Sort(lat)
		p50, p95 := lat[len(lat)/2], lat[len(lat)*95/100]
		fmt.Printf("capture -> %s latency, %dx%d at %d fps veryfast, %d frames: p50 %v, p95 %v\n",
			name, width, height, fps, len(lat), p50.Round(time.Millisecond), p95.Round(time.Millisecond))
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms-"+unit)
		b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms-"+unit)
	}

	port := testpeer.FreePort(b)
	m := protocolMaster(b, srtDest(b, port)...) // it calls until the listener is up
	// MPEG-TS needs a look at the first keyframe for the picture size.
	report("SRT receiver", "srt", viewerLatencies(b, srtListener(port), frames, "-f", "mpegts", "-probesize", "1000000", "-analyzeduration", "1000000"))
	m.Stop()

	w := testpeer.StartWHIPServer(b, whipToken)
	var (
		mu     sync.Mutex
		depack codecs.H264Packet
		stamps stampScanner
		enough = make(chan struct{})
	)
	w.OnVideo = func(p *rtp.Packet) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		annexB, err := depack.Unmarshal(p.Payload)
		if err != nil || len(stamps.lat) >= frames {
			return
		}
		if stamps.feed(annexB, now); len(stamps.lat) >= frames {
			close(enough)
		}
	}
	m = protocolMaster(b, whipDest(b, w)...)
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		b.Fatal("the WHIP receiver did not see enough stamped frames in 60 s")
	}
	mu.Lock()
	lat := slices.Clone(stamps.lat)
	mu.Unlock()
	m.Stop()
	report("WHIP receiver", "whip", lat)
}
