package audio

import (
	"math"
	"testing"
	"time"
)

// BenchmarkAudioPath costs one block (21.3 ms of audio) through the whole
// engine with two live sources, as microphone + desktop run: s16 chunks
// stamped, resampled with drift compensation and written to each source's
// ring, mixed with meters, and encoded to AAC. The share of a core the
// engine takes is ns/op divided by 21.3 ms.
func BenchmarkAudioPath(b *testing.B) {
	clock := NewClock()
	m := NewMixer(clock, MixerOptions{OnLevels: func(Levels) {}})
	chunk := make([]int16, Channels*FrameSamples)
	for i := 0; i < FrameSamples; i++ {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/SampleRate))
		chunk[2*i], chunk[2*i+1] = v, v
	}
	type live struct {
		src *deviceSource
		rs  *resampler
		st  stamper
	}
	var lives []*live
	for _, name := range []string{SourceMic, SourceDesktop} {
		rs, err := newResampler(SampleRate, Channels)
		if err != nil {
			b.Fatal(err)
		}
		defer rs.close()
		src := &deviceSource{spec: name, ring: newRing(int(SampleAt(ringLength))), status: Status{Live: true}}
		lives = append(lives, &live{src: src, rs: rs, st: stamper{rate: SampleRate}})
		m.Add(name, src)
	}
	enc, err := NewAACEncoder(0)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	for k := int64(0); b.Loop(); k++ {
		pts := SampleTime(k * FrameSamples)
		for _, l := range lives {
			at := l.st.stamp(pts+SampleTime(FrameSamples), FrameSamples)
			out, idx, err := l.rs.convert(chunk, at)
			if err != nil {
				b.Fatal(err)
			}
			l.src.ring.write(idx, out)
		}
		blk := Block{PTS: pts, Samples: make([]float32, Channels*FrameSamples)}
		m.Mix(pts, blk.Samples)
		if _, err := enc.Encode(blk); err != nil {
			b.Fatal(err)
		}
	}
	perBlock := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(100*float64(perBlock)/float64(SampleTime(FrameSamples)), "%core")
}
