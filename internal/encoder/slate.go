package encoder

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/gif" // slate pictures may be GIF, JPEG or PNG
	_ "image/jpeg"
	_ "image/png"
	"os"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/audio"
	"github.com/onair-studio/onair/internal/capture"
	"github.com/onair-studio/onair/internal/codec"
	"github.com/onair-studio/onair/internal/gosched"
	"github.com/onair-studio/onair/internal/limits"
	"github.com/onair-studio/onair/stub/pb"
)

// SlateText is what the built-in card says.
const SlateText = "We'll be right back"

// SlateBackground is the built-in card's colour: a calm dark blue, unlike
// anything the test pattern shows.
var SlateBackground = color.RGBA{20, 40, 90, 255}

// Slate encodes the still the master loops while the encoder is down. It
// takes no service lock: a wedged pipeline does not stop it.
func (s *Service) Slate(_ context.Context, req *pb.SlateRequest) (*pb.SlateReply, error) {
	w, h := int(req.GetWidth()), int(req.GetHeight())
	img, err := SlatePicture(req.GetImage(), w, h)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	// A slate is a keyframe interval of pictures (280 at 1080p140), encoded
	// while the program is: at normal priority it took the program's cores
	// for seconds after every change of size or rate, and frames were
	// skipped. In the background it takes only what the program leaves,
	// and at ultrafast half as much (a still's pictures after the first
	// are nearly empty, so the preset hardly changes them).
	var reply *pb.SlateReply
	gosched.Background(func() {
		reply, err = encodeSlate(img, int(req.GetFps()), int(req.GetKeyframeSeconds()), int(req.GetBitrateKbps()))
	})
	// Back at normal priority: the slate's encoder's memory goes back too.
	codec.TrimHeap()
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if reply.AacConfig, reply.AacSilence, err = silentAAC(int(s.audioKbps.Load())); err != nil {
		// A bitrate out of range is already said in status; the slate's
		// sound takes the default rather than none.
		if reply.AacConfig, reply.AacSilence, err = silentAAC(0); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
	}
	return reply, nil
}

// silentAAC is the program's AudioSpecificConfig and one access unit of
// 1024 silent samples, encoded as the program's sound is, at kbps.
func silentAAC(kbps int) (config, silence []byte, err error) {
	enc, err := audio.NewAACEncoder(kbps)
	if err != nil {
		return nil, nil, err
	}
	defer enc.Close()
	if config, err = enc.Config().Marshal(); err != nil {
		return nil, nil, err
	}
	// A frame from the middle of silence, with silence on both sides: the
	// first one out is the encoder's priming.
	zero := make([]float32, audio.Channels*audio.FrameSamples)
	var aus []audio.AccessUnit
	for i := range 4 {
		out, err := enc.Encode(audio.Block{PTS: audio.SampleTime(int64(i) * audio.FrameSamples), Samples: zero})
		if err != nil {
			return nil, nil, err
		}
		aus = append(aus, out...)
	}
	for _, au := range aus {
		if au.PTS == audio.SampleTime(audio.FrameSamples) {
			return config, au.Data, nil
		}
	}
	return nil, nil, fmt.Errorf("audio: no silent frame from the AAC encoder (%d frames out)", len(aus))
}

// SlatePicture is the slate at w×h: the picture file fitted in (centred on
// black, its proportions kept), or the built-in card when path is empty.
func SlatePicture(path string, w, h int) (*image.RGBA, error) {
	if !limits.PictureSizeOK(w, h) {
		return nil, fmt.Errorf("slate size %dx%d out of range", w, h)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if path == "" {
		drawCard(dst)
		return dst, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("slate image: %w", err)
	}
	defer f.Close()
	decoded, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("slate image %s: %w", path, err)
	}
	b := decoded.Bounds()
	src := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Bounds(), image.Black, image.Point{}, draw.Src)
	draw.Draw(src, src.Bounds(), decoded, b.Min, draw.Over) // transparency shows black
	fw, fh := w, b.Dy()*w/b.Dx()
	if fh > h {
		fw, fh = b.Dx()*h/b.Dy(), h
	}
	draw.Draw(dst, dst.Bounds(), image.Black, image.Point{}, draw.Src)
	at := image.Pt((w-fw)/2, (h-fh)/2)
	capture.ScaleBilinear(dst.SubImage(image.Rectangle{Min: at, Max: at.Add(image.Pt(fw, fh))}).(*image.RGBA), src)
	return dst, nil
}

// drawCard draws the built-in card: the text, white and centred, on
// SlateBackground.
func drawCard(dst *image.RGBA) {
	draw.Draw(dst, dst.Bounds(), image.NewUniform(SlateBackground), image.Point{}, draw.Src)
	w, h := dst.Bounds().Dx(), dst.Bounds().Dy()
	ttf, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return // the embedded font always parses; a plain card is still a card
	}
	// The text takes about 70% of the width.
	size := float64(w) * 0.7 / (0.55 * float64(len(SlateText)))
	face, err := opentype.NewFace(ttf, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return
	}
	defer face.Close()
	d := &font.Drawer{Dst: dst, Src: image.White, Face: face}
	width := d.MeasureString(SlateText)
	m := face.Metrics()
	d.Dot = fixed.Point26_6{
		X: (fixed.I(w) - width) / 2,
		Y: (fixed.I(h) + m.Ascent - m.Descent) / 2,
	}
	d.DrawString(SlateText)
}

// encodeSlate encodes img as one GOP with libx264: an IDR, then P-frames of
// the same picture, which cost a few bytes each.
func encodeSlate(img *image.RGBA, fps, keyframeSeconds, kbps int) (*pb.SlateReply, error) {
	b := img.Bounds()
	enc, err := codec.Open(codec.Settings{Backend: codec.BackendX264, Width: b.Dx(), Height: b.Dy(),
		FPS: fps, BitrateKbps: kbps, KeyframeSeconds: keyframeSeconds, Preset: "ultrafast"})
	if err != nil {
		return nil, fmt.Errorf("slate: %w", err)
	}
	defer enc.Close()
	frame, err := codec.NewFrame(codec.I420, b.Dx(), b.Dy())
	if err != nil {
		return nil, err
	}
	if err := frame.FromRGBA(img); err != nil {
		return nil, err
	}
	s := enc.Settings()
	n := s.FPS * s.KeyframeSeconds
	var pkts []codec.Packet
	for i := range n {
		p, err := enc.Encode(frame, time.Duration(i)*time.Second/time.Duration(s.FPS), time.Time{}, i == 0)
		if err != nil {
			return nil, fmt.Errorf("slate: %w", err)
		}
		pkts = append(pkts, p...)
	}
	rest, err := enc.Flush()
	if err != nil {
		return nil, fmt.Errorf("slate: %w", err)
	}
	pkts = append(pkts, rest...)
	if len(pkts) != n || !pkts[0].Keyframe {
		return nil, fmt.Errorf("slate: the encoder gave %d pictures for %d frames", len(pkts), n)
	}
	sps, pps, _ := enc.ParameterSets()
	reply := &pb.SlateReply{Sps: sps, Pps: pps}
	for _, p := range pkts {
		au := &pb.SlateAccessUnit{}
		for _, nalu := range p.NALUs {
			// A capture time would be stale on every loop: no SEI.
			if h264.NALUType(nalu[0]&0x1f) != h264.NALUTypeSEI {
				au.Nalus = append(au.Nalus, nalu)
			}
		}
		reply.AccessUnits = append(reply.AccessUnits, au)
	}
	return reply, nil
}
