package replay

import (
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/pmp4"

	"github.com/onair-studio/onair/internal/stream"
)

const (
	videoTimescale = 90000
)

// WriteMP4 writes c as a progressive MP4, moov box before the media. The
// picture starts at 0; sound from before the first picture is left out.
func WriteMP4(w io.Writer, c Clip) error {
	if c.Tracks.Video == nil || len(c.Units) == 0 || c.Units[0].Kind != stream.Video {
		return ErrEmpty
	}
	start := c.Units[0].PTS
	var pics, sounds []stream.Unit
	for _, u := range c.Units {
		switch {
		case u.Kind == stream.Video:
			pics = append(pics, u)
		case u.PTS >= start && c.Tracks.Audio != nil:
			sounds = append(sounds, u)
		}
	}
	video := &pmp4.Track{ID: 1, TimeScale: videoTimescale,
		Codec: &mp4.CodecH264{SPS: c.Tracks.Video.SPS, PPS: c.Tracks.Video.PPS}}
	frame := int64(videoTimescale / 30) // until two pictures say otherwise
	for i, u := range pics {
		payload, err := h264.AVCC(u.NALUs).Marshal()
		if err != nil {
			return fmt.Errorf("picture at %v: %w", u.PTS-start, err)
		}
		if i+1 < len(pics) {
			frame = max(stream.Ticks(pics[i+1].PTS-u.PTS, videoTimescale), 1)
		}
		video.Samples = append(video.Samples, sample(payload, frame, !u.Key))
	}
	p := pmp4.Presentation{Tracks: []*pmp4.Track{video}}
	if len(sounds) > 0 {
		rate := int64(c.Tracks.Audio.SampleRate)
		audio := &pmp4.Track{ID: 2, TimeScale: uint32(rate),
			TimeOffset: int32(stream.Ticks(sounds[0].PTS-start, rate)),
			Codec:      &mp4.CodecMPEG4Audio{Config: *c.Tracks.Audio}}
		for i, u := range sounds {
			d := int64(stream.AACFrameSamples)
			if i+1 < len(sounds) {
				// A gap in the sound (an encoder restart) stays a gap.
				d = min(max(stream.Ticks(sounds[i+1].PTS-u.PTS, rate), 1), 4*stream.AACFrameSamples)
			}
			audio.Samples = append(audio.Samples, sample(u.AAC, d, false))
		}
		p.Tracks = append(p.Tracks, audio)
	}
	return p.Marshal(w)
}

func sample(payload []byte, ticks int64, nonSync bool) *pmp4.Sample {
	return &pmp4.Sample{
		Duration: uint32(ticks), IsNonSyncSample: nonSync, PayloadSize: uint32(len(payload)),
		GetPayload: func() ([]byte, error) { return payload, nil },
	}
}

// Duration is how long c plays: from its first picture to its last plus
// one frame.
func (c Clip) Duration() time.Duration {
	var first, last, prev time.Duration
	n := 0
	for _, u := range c.Units {
		if u.Kind != stream.Video {
			continue
		}
		if n == 0 {
			first = u.PTS
		}
		prev, last = last, u.PTS
		n++
	}
	if n < 2 {
		return time.Second / 30 * time.Duration(n)
	}
	return last - first + (last - prev)
}
