package testpeer

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"github.com/onair-studio/onair/internal/stream"
)

// AudioRate is the sample rate of OnAir's audio (AAC-LC, stereo).
const AudioRate = 48000

// AACFrameDuration is one AAC access unit: 1024 samples.
const AACFrameDuration = stream.AACFrameSamples * time.Second / AudioRate

// SineLevel is the level of ffmpeg's sine source (amplitude 1/8).
var SineLevel = 20 * math.Log10(1.0/8)

// SineAAC encodes seconds of a freq Hz sine (at SineLevel in both
// channels) as AAC-LC, 48 kHz stereo, with ffmpeg, and returns its config and access units.
func SineAAC(t testing.TB, freq, seconds float64) (*mpeg4audio.AudioSpecificConfig, [][]byte) {
	t.Helper()
	Need(t, "ffmpeg")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("sine=frequency=%g:sample_rate=%d:duration=%g", freq, AudioRate, seconds),
		"-af", "pan=stereo|FL=c0|FR=c0", "-c:a", "aac", "-b:a", "128k", "-f", "adts", "pipe:1").Output()
	if err != nil {
		t.Fatalf("ffmpeg sine: %v", err)
	}
	var pkts mpeg4audio.ADTSPackets
	if err := pkts.Unmarshal(out); err != nil {
		t.Fatalf("ADTS from ffmpeg: %v", err)
	}
	if len(pkts) == 0 {
		t.Fatal("ffmpeg made no AAC")
	}
	conf := &mpeg4audio.AudioSpecificConfig{Type: pkts[0].Type, SampleRate: pkts[0].SampleRate, ChannelCount: pkts[0].ChannelCount}
	aus := make([][]byte, len(pkts))
	for i, p := range pkts {
		aus[i] = p.AU
	}
	return conf, aus
}

// AVPublisher publishes a program into an RTSP return path the way OnAir's
// encoder does: one session with H.264 and AAC, both tracks' RTP
// timestamps counting the capture clock from 0.
type AVPublisher struct {
	client       *gortsplib.Client
	video, audio *description.Media
	h264         *rtph264.Encoder
	aac          *rtpmpeg4audio.Encoder
}

// PublishAV starts publishing to url (credentials in it); conf nil
// publishes the picture alone.
func PublishAV(url string, sps, pps []byte, conf *mpeg4audio.AudioSpecificConfig) (*AVPublisher, error) {
	vf := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: sps, PPS: pps}
	p := &AVPublisher{video: &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{vf}}}
	desc := &description.Session{Medias: []*description.Media{p.video}}
	var af *format.MPEG4Audio
	if conf != nil {
		af = &format.MPEG4Audio{PayloadTyp: 97, Config: conf, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
		p.audio = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{af}}
		desc.Medias = append(desc.Medias, p.audio)
	}
	tcp := gortsplib.TransportTCP
	p.client = &gortsplib.Client{Transport: &tcp, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	if err := p.client.StartRecording(url, desc); err != nil {
		return nil, err
	}
	var err error
	if p.h264, err = vf.CreateEncoder(); err == nil && af != nil {
		p.aac, err = af.CreateEncoder()
	}
	if err != nil {
		p.client.Close()
		return nil, err
	}
	return p, nil
}

// WriteVideo sends one picture captured pts after the start.
func (p *AVPublisher) WriteVideo(nalus [][]byte, pts time.Duration) error {
	pkts, err := p.h264.Encode(nalus)
	if err != nil {
		return err
	}
	return p.write(p.video, pkts, uint32(stream.Ticks(pts, 90000)))
}

// WriteAudio sends one AAC access unit whose first sample was captured pts
// after the start.
func (p *AVPublisher) WriteAudio(au []byte, pts time.Duration) error {
	pkts, err := p.aac.Encode([][]byte{au})
	if err != nil {
		return err
	}
	return p.write(p.audio, pkts, uint32(stream.Ticks(pts, AudioRate)))
}

func (p *AVPublisher) write(m *description.Media, pkts []*rtp.Packet, ts uint32) error {
	for _, pkt := range pkts {
		pkt.Timestamp += ts
		if err := p.client.WritePacketRTP(m, pkt); err != nil {
			return err
		}
	}
	return nil
}

// Close ends the session.
func (p *AVPublisher) Close() { p.client.Close() }

// Play sends a program in real time from PTS 0, as a (re)started encoder
// does: pictures (each a picture's NAL units; the first an IDR) at fps and
// AAC frames one after the other, both looped, until stop closes or a
// write fails.
func (p *AVPublisher) Play(stop <-chan struct{}, pictures [][][]byte, fps int, aacs [][]byte) error {
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var pics, sounds int
	for {
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
		now := time.Since(start)
		for ; p.audio != nil && time.Duration(sounds)*AACFrameDuration <= now; sounds++ {
			if err := p.WriteAudio(aacs[sounds%len(aacs)], time.Duration(sounds)*AACFrameDuration); err != nil {
				return err
			}
		}
		for ; time.Duration(pics)*time.Second/time.Duration(fps) <= now; pics++ {
			if err := p.WriteVideo(pictures[pics%len(pictures)], time.Duration(pics)*time.Second/time.Duration(fps)); err != nil {
				return err
			}
		}
	}
}

// SaveStream is a viewer that keeps what it receives from url (an RTMP
// play URL) for seconds of stream time, untouched (-c copy), in an FLV file
// at path; it ends by itself, or when the test ends.
func SaveStream(t testing.TB, url string, seconds float64, path string) *Proc {
	t.Helper()
	Need(t, "ffmpeg")
	return start(t, nil, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-rw_timeout", "5000000",
		"-i", url, "-t", strconv.FormatFloat(seconds, 'f', -1, 64), "-c", "copy", "-f", "flv", "-y", path)
}

// AudioPacket is one audio packet of a file as ffprobe sees it.
type AudioPacket struct {
	PTS  time.Duration
	Size int // bytes: a silent AAC frame is a few, a tone's hundreds
}

// AudioPackets lists the packets of a file's first audio stream.
func AudioPackets(t testing.TB, path string) []AudioPacket {
	t.Helper()
	Need(t, "ffprobe")
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "a:0",
		"-show_entries", "packet=pts_time,size", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var pkts []AudioPacket
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pts, size, ok := strings.Cut(strings.TrimSpace(line), ",")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(size)
		if err != nil {
			t.Fatalf("ffprobe %s: packet size %q", path, size)
		}
		pkts = append(pkts, AudioPacket{PTS: seconds(pts), Size: n})
	}
	return pkts
}

// DecodeAudio decodes the audio of input (a file or URL ffmpeg reads) to
// mono float samples at AudioRate, at most seconds of it. extra go before
// -i (e.g. "-rw_timeout", "5000000").
func DecodeAudio(t testing.TB, input string, seconds float64, extra ...string) []float64 {
	t.Helper()
	Need(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds*float64(time.Second))+30*time.Second)
	defer cancel()
	args := append([]string{"-v", "error", "-nostdin"}, extra...)
	args = append(args, "-i", input, "-map", "0:a:0", "-t", strconv.FormatFloat(seconds, 'f', -1, 64),
		"-ac", "1", "-ar", strconv.Itoa(AudioRate), "-f", "s16le", "pipe:1")
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("decoding the audio of %s: %v: %s", input, err, stderr.String())
	}
	samples := make([]float64, len(out)/2)
	for i := range samples {
		samples[i] = float64(int16(binary.LittleEndian.Uint16(out[2*i:]))) / 32768
	}
	return samples
}

// ToneLevel is the level in dBFS of the freq Hz component of samples (at
// AudioRate), by the Goertzel algorithm: a sine of amplitude A reads
// 20·log10(A) whatever else is mixed in.
func ToneLevel(samples []float64, freq float64) float64 {
	if len(samples) == 0 {
		return math.Inf(-1)
	}
	return 20 * math.Log10(toneAmplitude(samples, freq, AudioRate))
}

// toneAmplitude is the amplitude of the freq Hz component of x (at rate
// Hz), by the Goertzel algorithm.
func toneAmplitude[S float32 | float64](x []S, freq float64, rate int) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+coeff*s1-s2, s1
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(max(power, 0)) / float64(len(x))
}

// Silences are the stretches of samples, in windows of window, where the
// tone is more than 20 dB under level: a gap in the sound.
func Silences(samples []float64, freq, level float64, window time.Duration) []time.Duration {
	n := int(window.Seconds() * AudioRate)
	var gaps []time.Duration
	for i := 0; i+n <= len(samples); i += n {
		if ToneLevel(samples[i:i+n], freq) < level-20 {
			gaps = append(gaps, time.Duration(i)*time.Second/AudioRate)
		}
	}
	return gaps
}

// AudioStream describes the first audio stream of a file or URL as
// "codec,rate,channels" (e.g. "aac,48000,2"), or "" if it has none.
func AudioStream(t testing.TB, input string, extra ...string) string {
	t.Helper()
	Need(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"-v", "error"}, extra...)
	args = append(args, "-select_streams", "a:0", "-show_entries", "stream=codec_name,sample_rate,channels", "-of", "csv=p=0", input)
	out, err := exec.CommandContext(ctx, "ffprobe", args...).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", input, err)
	}
	return strings.TrimSpace(string(out))
}
