package output

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-studio/onair/internal/stream"
	"github.com/onair-studio/onair/internal/testpeer"
)

// srtListener is FFmpeg (libsrt, an SRT implementation independent of the
// one OnAir sends with) listening on a free port and decoding every
// picture it receives as MPEG-TS.
func srtListener(t *testing.T, options string) (*testpeer.Reader, int) {
	t.Helper()
	port := testpeer.FreePort(t)
	url := fmt.Sprintf("srt://127.0.0.1:%d?mode=listener%s", port, options)
	return testpeer.StartReader(t, url, testpeer.ReaderOptions{Format: "mpegts", RWTimeout: 30 * time.Second}), port
}

// startSRT starts an SRT destination that retries quickly, as the master's
// do, and waits until it is live.
func startSRT(t *testing.T, url string) *Destination {
	t.Helper()
	d := StartDestination(DestinationConfig{URL: url, FirstRetry: 100 * time.Millisecond, MaxRetry: 500 * time.Millisecond, Log: testpeer.Logger(t)})
	t.Cleanup(d.Close)
	testpeer.Await(t, 20*time.Second, "SRT destination live", func() bool { return d.Status().State == DestLive })
	return d
}

// feedDest hands clip pictures to d at real time, shifted by base.
func feedDest(d *Destination, aus []testpeer.AccessUnit, base time.Duration) {
	start := time.Now()
	for _, au := range aus {
		time.Sleep(time.Until(start.Add(au.PTS)))
		d.WriteAccessUnit(au.NALUs, base+au.PTS, base+au.PTS)
	}
}

func TestSRTToFFmpeg(t *testing.T) {
	t.Parallel()
	const pass = "correct-horse-battery"
	clip := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 15}), 30)
	reader, port := srtListener(t, "&passphrase="+pass)
	d := startSRT(t, fmt.Sprintf("srt://127.0.0.1:%d?streamid=studio-A-secret&passphrase=%s&latency=120", port, pass))
	d.NewSource(stream.Tracks{})
	feedDest(d, clip, 0)
	frames := reader.WaitFrames(len(clip), 3*time.Second, 30*time.Second)
	if len(frames)*100 < len(clip)*95 {
		t.Fatalf("the SRT receiver decoded %d of %d pictures", len(frames), len(clip))
	}
	checkIncreasing(t, frames)
	st := d.Status()
	if st.FramesSent < uint64(len(clip))*95/100 {
		t.Errorf("status counts %d pictures sent of %d", st.FramesSent, len(clip))
	}
	if st.Link.RTT <= 0 {
		t.Errorf("status has no SRT round-trip time: %+v", st.Link)
	}
	if strings.Contains(st.URL, pass) || strings.Contains(st.URL, "studio-A-secret") {
		t.Errorf("status shows a secret: %s", st.URL)
	}
}

func checkIncreasing(t *testing.T, frames []testpeer.Frame) {
	t.Helper()
	for i := 1; i < len(frames); i++ {
		if frames[i].PTS <= frames[i-1].PTS {
			t.Fatalf("picture %d: timestamp %v after %v", i, frames[i].PTS, frames[i-1].PTS)
		}
	}
}

func TestSRTWrongPassphrase(t *testing.T) {
	t.Parallel()
	_, port := srtListener(t, "&passphrase=the-right-passphrase")
	const wrong = "a-wrong-passphrase"
	d := StartDestination(DestinationConfig{
		URL:        fmt.Sprintf("srt://127.0.0.1:%d?passphrase=%s", port, wrong),
		FirstRetry: 100 * time.Millisecond, MaxRetry: 500 * time.Millisecond, Log: testpeer.Logger(t),
	})
	defer d.Close()
	var st DestinationStatus
	testpeer.Await(t, 20*time.Second, "the wrong passphrase reported", func() bool {
		st = d.Status()
		return st.Err != nil && strings.Contains(st.Err.Error(), "wrong passphrase")
	})
	if st.State != DestRetrying && st.State != DestConnecting {
		t.Errorf("state %s, want retrying", st.State)
	}
	if strings.Contains(st.Err.Error(), wrong) {
		t.Errorf("error shows the passphrase: %v", st.Err)
	}
}

// lossyRelay forwards UDP datagrams between one caller and to, dropping
// each with probability loss in either direction (seeded, so runs repeat).
// It stands in for tc netem, which would need NET_ADMIN and, on loopback,
// would slow every other process on the machine too.
func lossyRelay(t *testing.T, to string, loss float64) int {
	t.Helper()
	in, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	out, err := net.Dial("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); out.Close() })
	rng := rand.New(rand.NewPCG(1, 2))
	var mu sync.Mutex
	drop := func() bool { mu.Lock(); defer mu.Unlock(); return rng.Float64() < loss }
	var caller atomic.Pointer[net.Addr]
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := in.ReadFrom(buf)
			if err != nil {
				return
			}
			caller.Store(&from)
			if !drop() {
				_, _ = out.Write(buf[:n])
			}
		}
	}()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := out.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // the listener is not up yet
			}
			if c := caller.Load(); c != nil && !drop() {
				_, _ = in.WriteTo(buf[:n], *c)
			}
		}
	}()
	return in.LocalAddr().(*net.UDPAddr).Port
}

// With 5% of the packets lost each way, SRT's retransmission still brings
// every picture to the receiver, and status counts the retransmits.
func TestSRTRecoversLoss(t *testing.T) {
	t.Parallel()
	clip := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 6}), 30)
	reader, port := srtListener(t, "")
	relay := lossyRelay(t, fmt.Sprintf("127.0.0.1:%d", port), 0.05)
	throughLoss(t, clip, reader, relay)
}

// throughLoss sends clip to the SRT listener behind port, where 5% of the
// packets are lost, and checks that reader decodes every picture.
func throughLoss(t *testing.T, clip []testpeer.AccessUnit, reader *testpeer.Reader, port int) {
	d := startSRT(t, fmt.Sprintf("srt://127.0.0.1:%d?latency=1000", port))
	d.NewSource(stream.Tracks{})
	// A second more after the clip: a receiver's demuxer hands on a picture
	// when the next one begins, so the clip's last ones need followers.
	feedDest(d, clip, 0)
	feedDest(d, clip[:30], 6*time.Second)
	frames := reader.WaitFrames(len(clip)+20, 3*time.Second, 30*time.Second)
	var inClip int
	for _, f := range frames {
		if f.PTS < 6*time.Second {
			inClip++
		}
	}
	if inClip != len(clip) {
		t.Fatalf("the SRT receiver decoded %d of %d pictures through 5%% loss", inClip, len(clip))
	}
	checkIncreasing(t, frames)
	if st := d.Status(); st.Link.Retransmitted == 0 {
		t.Errorf("no retransmits counted through 5%% loss: %+v", st.Link)
	}
}

// netemSetup brings up the loopback of a fresh network namespace and makes
// the kernel drop 5% of the packets on it. The namespace is private, so
// nothing else on the machine loses a packet.
const (
	netemSetup  = "ip link set lo up && tc qdisc add dev lo root netem loss 5%"
	netemInside = "ONAIR_TEST_IN_NETEM_NAMESPACE"
)

// Through 5% loss made by the kernel (tc netem) rather than by a relay:
// the test runs itself again inside a private network namespace with netem
// on its loopback. Where namespaces or netem are refused (no user
// namespaces, no NET_ADMIN, no sch_netem module) it skips and says which;
// TestSRTRecoversLoss covers loss everywhere.
func TestSRTRecoversNetemLoss(t *testing.T) {
	if os.Getenv(netemInside) != "" {
		clip := testpeer.ReadClip(t, testpeer.MakeClip(t, testpeer.ClipOptions{Seconds: 6}), 30)
		reader, port := srtListener(t, "")
		throughLoss(t, clip, reader, port)
		return
	}
	t.Parallel()
	testpeer.Need(t, "unshare", "ip", "tc")
	if out, err := exec.Command("unshare", "-rn", "sh", "-c", netemSetup).CombinedOutput(); err != nil {
		t.Skipf("tc netem in a private network namespace is refused here: unshare -rn sh -c %q: %v: %s",
			netemSetup, err, strings.TrimSpace(string(out)))
	}
	cmd := exec.Command("unshare", "-rn", "sh", "-c", netemSetup+` && exec "$0" -test.run '^TestSRTRecoversNetemLoss$' -test.count=1 -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), netemInside+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestSRTRecoversNetemLoss") {
		t.Fatalf("inside the namespace with netem: %v\n%s", err, out)
	}
}
