package testpeer

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// GoertzelDB is the level of the freq Hz component of x (mono, at rate Hz)
// in dBFS of a sine's peak: a full-scale sine reads 0, silence -120.
func GoertzelDB(x []float32, freq float64, rate int) float64 {
	amp := toneAmplitude(x, freq, rate)
	if amp <= 0 {
		return -120
	}
	return max(20*math.Log10(amp), -120)
}

// Left is the left channel of interleaved stereo.
func Left(x []float32) []float32 {
	out := make([]float32, len(x)/2)
	for i := range out {
		out[i] = x[2*i]
	}
	return out
}

// DecodeAudioPCM has ffmpeg decode the first audio stream of a media file
// (any format ffmpeg reads: a recording, an ADTS file) to 48 kHz stereo
// float, interleaved.
func DecodeAudioPCM(t testing.TB, path string, input ...string) []float32 {
	t.Helper()
	Need(t, "ffmpeg")
	args := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, input...)
	args = append(args, "-i", path, "-map", "0:a:0", "-f", "f32le", "-ac", "2", "-ar", "48000", "-")
	cmd := exec.Command("ffmpeg", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg could not decode the audio of %s: %v\n%s", path, err, stderr.String())
	}
	pcm := make([]float32, len(out)/4)
	for i := range pcm {
		pcm[i] = math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:]))
	}
	return pcm
}

// Stream is one stream of a media file as ffprobe sees it.
type Stream struct {
	Type, Codec, Profile string
	SampleRate, Channels int
}

// ProbeStreams lists a media file's streams with ffprobe.
func ProbeStreams(t testing.TB, path string) []Stream {
	t.Helper()
	Need(t, "ffprobe")
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries",
		"stream=codec_type,codec_name,profile,sample_rate,channels", "-of", "csv=p=0:nk=0", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	var list []Stream
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var s Stream
		for _, kv := range strings.Split(line, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "codec_type":
				s.Type = v
			case "codec_name":
				s.Codec = v
			case "profile":
				s.Profile = v
			case "sample_rate":
				s.SampleRate = atoi(v)
			case "channels":
				s.Channels = atoi(v)
			}
		}
		list = append(list, s)
	}
	return list
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return n
		}
		n = 10*n + int(c-'0')
	}
	return n
}

// Onsets are the indices at which on(i) turns true after being false for
// at least gap by at(i): where a flash or a beep of the test pattern and
// tone starts (each comes once a second and lasts 100 ms).
func Onsets(n int, gap time.Duration, on func(i int) bool, at func(i int) time.Duration) []int {
	var out []int
	offSince := time.Duration(-1)
	for i := 0; i < n; i++ {
		switch {
		case !on(i):
			if offSince < 0 {
				offSince = at(i)
			}
			continue
		case offSince >= 0 && at(i)-offSince >= gap:
			out = append(out, i)
		}
		offSince = -1
	}
	return out
}

// DecodeAAC writes raw AAC access units in config as an ADTS file and has
// ffmpeg decode it to 48 kHz stereo float, interleaved; sample i plays i/48000
// after the first access unit's start.
func DecodeAAC(t testing.TB, config *mpeg4audio.AudioSpecificConfig, aus [][]byte) []float32 {
	t.Helper()
	pkts := make(mpeg4audio.ADTSPackets, len(aus))
	for i, au := range aus {
		pkts[i] = &mpeg4audio.ADTSPacket{Type: config.Type, SampleRate: config.SampleRate, ChannelCount: config.ChannelCount, AU: au}
	}
	adts, err := pkts.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sound.aac")
	if err := os.WriteFile(path, adts, 0o600); err != nil {
		t.Fatal(err)
	}
	return DecodeAudioPCM(t, path, "-f", "aac")
}

// ParamSets finds the SPS and PPS in a clip's access units.
func ParamSets(aus []AccessUnit) (sps, pps []byte) {
	for _, au := range aus {
		for _, n := range au.NALUs {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				sps = n
			case h264.NALUTypePPS:
				pps = n
			}
		}
	}
	return sps, pps
}
