package testpeer

import (
	"os/exec"
	"testing"
)

// AddSink adds a second null sink to the daemon, so a benchmark can
// capture two live devices at once (NAME.monitor beside studio.monitor),
// as a microphone and the desktop sound run.
func (p *Pulse) AddSink(t testing.TB, name string) {
	t.Helper()
	if out, err := p.Pactl("load-module", "module-null-sink", "sink_name="+name, "rate=48000"); err != nil {
		t.Fatalf("adding the null sink %q: %v\n%s", name, err, out)
	}
}

// PlayInto is Play into the named sink.
func (p *Pulse) PlayInto(t testing.TB, sink string, pcm []byte) *Proc {
	t.Helper()
	return startCmd(t, func(c *exec.Cmd) {
		c.Env = p.Env()
		c.Stdin = &loopReader{data: pcm}
	}, nil, "pacat", "--playback", "--device="+sink, "--raw", "--format=s16le",
		"--rate=48000", "--channels=2", "--latency-msec=200")
}

// PID is the daemon's process id, for reading its CPU time.
func (p *Pulse) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc.PID()
}
