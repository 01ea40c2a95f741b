package testpeer

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PulseRate is the sample rate of the studio sink and of what Play sends.
const PulseRate = 48000

// Pulse is a private PulseAudio daemon with one null sink, "studio", whose
// monitor source "studio.monitor" hears whatever is played into it.
type Pulse struct {
	// Server is the daemon's socket as libpulse names it ("unix:PATH"),
	// for PULSE_SERVER or a client's server option.
	Server string
	dir    string // XDG_RUNTIME_DIR and HOME of the daemon

	mu   sync.Mutex
	proc *Proc
}

// StartPulse starts a PulseAudio daemon in its own runtime directory and
// stops it by pid when the test ends. It runs as root with only a warning.
func StartPulse(t testing.TB) *Pulse {
	t.Helper()
	Need(t, "pulseaudio", "pactl", "pacat")
	p := &Pulse{dir: t.TempDir()}
	p.Server = "unix:" + filepath.Join(p.dir, "pulse", "native")
	p.Start(t)
	return p
}

// Env is the environment a client of this daemon needs.
func (p *Pulse) Env() []string {
	return append(os.Environ(), "XDG_RUNTIME_DIR="+p.dir, "PULSE_SERVER="+p.Server)
}

// Start (re)starts the daemon in the same runtime directory, so clients find
// it at the same Server, and waits until it answers.
func (p *Pulse) Start(t testing.TB) {
	t.Helper()
	proc := startCmd(t, func(c *exec.Cmd) {
		// Its own HOME too: the daemon writes a cookie and state there.
		c.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+p.dir, "HOME="+p.dir)
	}, nil, "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
		"-L", "module-native-protocol-unix",
		"-L", "module-null-sink sink_name=studio rate=48000")
	p.mu.Lock()
	p.proc = proc
	p.mu.Unlock()
	want := "Server String: " + p.Server
	ok := Eventually(10*time.Second, func() bool {
		select {
		case <-proc.Done():
			return false
		default:
		}
		out, _ := p.Pactl("info")
		return strings.Contains(out, want)
	})
	if !ok {
		t.Fatalf("pulseaudio did not answer at %s:\n%s", p.Server, proc.Output())
	}
}

// Kill ends the daemon with SIGKILL, as a crash would, and waits for it.
func (p *Pulse) Kill(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	proc := p.proc
	p.mu.Unlock()
	if err := syscall.Kill(proc.PID(), syscall.SIGKILL); err != nil {
		t.Fatalf("kill pulseaudio: %v", err)
	}
	if proc.Wait(10*time.Second) == context.DeadlineExceeded {
		t.Fatal("pulseaudio did not exit after SIGKILL")
	}
}

// Pactl runs pactl against this daemon and returns its output.
func (p *Pulse) Pactl(args ...string) (string, error) {
	cmd := exec.Command("pactl", args...)
	cmd.Env = p.Env()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Play plays raw s16le 48 kHz stereo from pcm into the studio sink with
// pacat, looping it until the test ends or the returned process is stopped.
func (p *Pulse) Play(t testing.TB, pcm []byte) *Proc {
	t.Helper()
	return startCmd(t, func(c *exec.Cmd) {
		c.Env = p.Env()
		c.Stdin = &loopReader{data: pcm}
	}, nil, "pacat", "--playback", "--device=studio", "--raw", "--format=s16le",
		"--rate=48000", "--channels=2", "--latency-msec=200")
}

// ToneS16 is one second of a sine at freq Hz and peak level dBFS on both
// channels, raw s16le 48 kHz stereo. With a whole number freq it loops
// without a seam.
func ToneS16(freq, dBFS float64) []byte {
	amp := math.Pow(10, dBFS/20) * 32767
	b := make([]byte, PulseRate*4)
	for i := 0; i < PulseRate; i++ {
		v := uint16(int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/PulseRate))))
		binary.LittleEndian.PutUint16(b[4*i:], v)
		binary.LittleEndian.PutUint16(b[4*i+2:], v)
	}
	return b
}

// MusicS16 is ten seconds of pink noise, each channel its own, at an RMS
// level of about dBFS, raw s16le 48 kHz stereo: the spectrum of program material
// such as music or a game's sound, which is what an AAC encoder mostly
// gets. (A pure tone is its worst case: the native encoder's rate control
// runs up to six passes a frame looking for bits to spend.) FFmpeg makes it.
func MusicS16(t testing.TB, dBFS float64) []byte {
	t.Helper()
	// FFmpeg's pink noise has an RMS level 14.1 dB under its amplitude.
	amp := fmt.Sprintf("%.4f", math.Pow(10, (dBFS+14.1)/20))
	src := func(seed int) string {
		return fmt.Sprintf("anoisesrc=c=pink:r=%d:a=%s:seed=%d:d=10", PulseRate, amp, seed)
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", src(1), "-f", "lavfi", "-i", src(2),
		"-filter_complex", "[0][1]join=inputs=2:channel_layout=stereo", "-f", "s16le", "-").Output()
	if err != nil || len(out) != 10*PulseRate*4 {
		t.Fatalf("making pink noise with ffmpeg: %v (%d bytes)", err, len(out))
	}
	return out
}

// loopReader repeats data for ever.
type loopReader struct {
	data []byte
	off  int
}

func (r *loopReader) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		c := copy(b[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}
