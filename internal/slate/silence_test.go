package slate

import (
	"bytes"
	"os/exec"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/onair-studio/onair/internal/testpeer"
)

// FFmpeg's AAC decoder takes the built silent frame, mono and stereo, at
// 48 and 44.1 kHz, without a complaint, and plays exactly 1024 samples of
// zeros per frame.
func TestSilentAACDecodes(t *testing.T) {
	testpeer.Need(t, "ffmpeg")
	for _, c := range []mpeg4audio.AudioSpecificConfig{
		{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: 2},
		{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: 1},
		{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 44100, ChannelCount: 2},
	} {
		const frames = 50
		au := SilentAAC(&c)
		pkts := make(mpeg4audio.ADTSPackets, frames)
		for i := range pkts {
			pkts[i] = &mpeg4audio.ADTSPacket{Type: c.Type, SampleRate: c.SampleRate, ChannelCount: c.ChannelCount, AU: au}
		}
		adts, err := pkts.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd := exec.Command("ffmpeg", "-v", "error", "-f", "aac", "-i", "pipe:0", "-f", "s16le", "pipe:1")
		cmd.Stdin, cmd.Stderr = bytes.NewReader(adts), &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Fatalf("%d Hz, %d channels: ffmpeg: %v %s", c.SampleRate, c.ChannelCount, err, stderr.String())
		}
		if want := frames * 1024 * 2 * c.ChannelCount; len(out) != want {
			t.Errorf("%d Hz, %d channels: %d bytes of samples, want %d", c.SampleRate, c.ChannelCount, len(out), want)
		}
		if n := len(bytes.Trim(out, "\x00")); n > 0 {
			t.Errorf("%d Hz, %d channels: %d bytes of samples are not zero", c.SampleRate, c.ChannelCount, n)
		}
	}
	if SilentAAC(&mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: 6}) != nil {
		t.Error("a silent frame for 5.1, which this builder does not make")
	}
}
