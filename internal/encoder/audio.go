package encoder

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/audio"
	"github.com/onair-studio/onair/internal/audiolimits"
	"github.com/onair-studio/onair/internal/scene"
	"github.com/onair-studio/onair/internal/source"
	"github.com/onair-studio/onair/stub/pb"
)

// PulseServerEnv names the PulseAudio server the encoder captures from
// ("unix:/path/to/native", a host name). Unset, libpulse finds the user's
// own ($PULSE_SERVER, then the user's runtime directory), as every desktop
// program does.
const PulseServerEnv = "ONAIR_PULSE_SERVER"

func audioOptions() audio.Options { return audio.Options{Server: os.Getenv(PulseServerEnv)} }

// audioEngine captures, mixes and AAC-encodes the program's sound on the
// pipeline's capture clock and hands each access unit to out. Its settings
// change live: volumes, mutes and offsets at once, a changed source list
// by opening and closing only the sources that changed, a new bitrate by a
// new AAC encoder. Nothing in it stops the picture: a source that fails
// plays silence and says why.
type audioEngine struct {
	log   *slog.Logger
	opts  audio.Options
	clock audio.Clock
	mixer *audio.Mixer
	// out sends consecutive access units, the first playing at pts.
	out func(aus [][]byte, pts time.Duration)

	// groups are the configured sources as opened; only apply (under the
	// service lock) changes them.
	groups []*sourceGroup

	mu       sync.Mutex
	enc      *audio.AACEncoder
	fresh    bool // enc is new: feed it the previous block first
	problems string
	levels   *pb.AudioLevels

	// The mixing goroutine's own.
	last     *audio.Block
	sent     time.Duration
	sentAny  bool
	pending  [][]byte      // access units to send at the end of the batch
	pendPTS  time.Duration // the first one's
	encoded  atomic.Uint64
	onLevels func(*pb.AudioLevels)

	stop context.CancelFunc
	done chan struct{}
}

// sourceGroup is one configured source and the mixer inputs it opened
// ("auto" opens the microphone and the desktop sound).
type sourceGroup struct {
	spec   string
	names  []string
	reason string
}

// startAudio mixes the sources s names on clock, encoding with enc (which
// it then owns), until close.
// Layer sources ("layer:NAME") find their layer's sound with layers; filter
// changes each source's block before the mix.
func startAudio(clock audio.Clock, enc *audio.AACEncoder, s *pb.AudioSettings, log *slog.Logger,
	out func([][]byte, time.Duration), onLevels func(*pb.AudioLevels), layers func(string) audio.LayerSound, filter audio.BlockFilter) *audioEngine {
	e := &audioEngine{log: log, opts: audioOptions(), clock: clock, enc: enc, out: out, onLevels: onLevels, done: make(chan struct{})}
	e.opts.Layers = layers
	e.mixer = audio.NewMixer(clock, audio.MixerOptions{OnLevels: e.meter, Filter: filter})
	e.apply(s)
	var ctx context.Context
	ctx, e.stop = context.WithCancel(context.Background())
	go func() {
		defer close(e.done)
		e.mixer.RunBatched(ctx, e.consume, e.flush)
	}()
	return e
}

// soundOf is the mix cfg asks for: its audio settings, and the sound of
// every media file layer of the scene on air they do not list, at 0 dB
// (listing "layer:NAME" sets its volume, mute and offset like any source's).
func soundOf(cfg *pb.EncoderConfig) *pb.AudioSettings {
	a := proto.Clone(cfg.GetAudio()).(*pb.AudioSettings)
	if a == nil {
		a = &pb.AudioSettings{}
	}
	a.Sources = wanted(a)
	for _, l := range cfg.GetLayers() {
		if spec, err := source.Parse(l.GetSource()); err != nil || spec.Kind != source.KindFile {
			continue
		}
		name := audiolimits.LayerPrefix + scene.LayerName(scene.Layer{Name: l.GetName(), Source: l.GetSource()})
		if !slices.ContainsFunc(a.Sources, func(s *pb.AudioSource) bool { return s.GetSource() == name }) {
			a.Sources = append(a.Sources, &pb.AudioSource{Source: name})
		}
	}
	return a
}

// wanted is the source list s asks for: empty means one "auto".
func wanted(s *pb.AudioSettings) []*pb.AudioSource {
	if len(s.GetSources()) == 0 {
		return []*pb.AudioSource{{Source: audio.SourceAuto}}
	}
	return s.GetSources()
}

// apply makes the mix what s says. What it cannot apply (an unknown
// device, a volume out of range) is left out, said in status, and the
// rest applies.
func (e *audioEngine) apply(s *pb.AudioSettings) {
	var problems []string
	// Keep each opened source still wanted; close the others before
	// opening the new ones, which may take their names.
	want := wanted(s)
	kept := make([]*sourceGroup, len(want))
	old := e.groups
	for i, src := range want {
		for j, g := range old {
			if g != nil && g.spec == src.GetSource() {
				kept[i], old[j] = g, nil
				break
			}
		}
	}
	for _, g := range old {
		if g != nil {
			for _, name := range g.names {
				_ = e.mixer.Remove(name)
			}
		}
	}
	var groups []*sourceGroup
	for i, src := range want {
		g := kept[i]
		if g == nil {
			var err error
			if g, err = e.open(src.GetSource()); err != nil {
				problems = append(problems, err.Error())
				continue
			}
		}
		groups = append(groups, g)
		for _, name := range g.names {
			for _, err := range []error{
				e.mixer.SetVolume(name, src.GetVolumeDb()),
				e.mixer.SetMute(name, src.GetMuted()),
				e.mixer.SetOffset(name, time.Duration(src.GetOffsetMs())*time.Millisecond),
			} {
				if err != nil {
					problems = append(problems, err.Error())
				}
			}
		}
	}
	e.groups = groups
	if err := e.mixer.SetMasterVolume(s.GetVolumeDb()); err != nil {
		problems = append(problems, err.Error())
	}
	if err := e.setBitrate(int(s.GetBitrateKbps())); err != nil {
		problems = append(problems, err.Error())
	}
	e.mu.Lock()
	e.problems = strings.Join(problems, "; ")
	e.mu.Unlock()
	if len(problems) > 0 {
		e.log.Warn("audio settings partly refused", "err", e.problems)
	}
}

// open opens one configured source and adds its inputs to the mix.
func (e *audioEngine) open(spec string) (*sourceGroup, error) {
	ins, reason, err := audio.Open(spec, e.clock, e.opts)
	if err != nil {
		return nil, err
	}
	g := &sourceGroup{spec: spec, reason: reason}
	for _, in := range ins {
		name := e.uniqueName(in.String())
		if err := e.mixer.Add(name, in); err != nil {
			in.Close()
			return nil, err
		}
		g.names = append(g.names, name)
	}
	return g, nil
}

// uniqueName is base, or base#2, #3… when the mix already has a source
// by that name (the same source configured twice).
func (e *audioEngine) uniqueName(base string) string {
	taken := map[string]bool{}
	for _, s := range e.mixer.Sources() {
		taken[s.Name] = true
	}
	name := base
	for n := 2; taken[name]; n++ {
		name = fmt.Sprintf("%s#%d", base, n)
	}
	return name
}

// setBitrate opens a new AAC encoder when the bitrate changes; the track's
// format (AAC-LC, 48 kHz, stereo) stays the same.
func (e *audioEngine) setBitrate(kbps int) error {
	e.mu.Lock()
	same := e.enc.BitrateKbps() == kbps || (kbps == 0 && e.enc.BitrateKbps() == audiolimits.DefaultBitrateKbps)
	e.mu.Unlock()
	if same {
		return nil
	}
	enc, err := audio.NewAACEncoder(kbps)
	if err != nil {
		return err
	}
	e.mu.Lock()
	old := e.enc
	e.enc, e.fresh = enc, true
	e.mu.Unlock()
	e.log.Info("audio bitrate changed live", "kbps", enc.BitrateKbps())
	return old.Close()
}

// consume encodes one mixed block and publishes what comes out, on the
// mixing goroutine. Access units go out in order from PTS 0 on: the
// encoder's priming frame before the clock's start is left out, and so are
// those a new encoder repeats.
func (e *audioEngine) consume(b audio.Block) {
	e.mu.Lock()
	var aus []audio.AccessUnit
	var err error
	if e.fresh && e.last != nil {
		// The previous block again, so the new encoder's first frame
		// overlaps sound it has heard rather than silence.
		aus, err = e.enc.Encode(*e.last)
	}
	e.fresh = false
	if err == nil {
		var more []audio.AccessUnit
		more, err = e.enc.Encode(b)
		aus = append(aus, more...)
	}
	e.mu.Unlock()
	e.last = &b
	if err != nil {
		e.log.Warn("audio encode", "err", err)
	}
	for _, au := range aus {
		if au.PTS < 0 || (e.sentAny && au.PTS <= e.sent) {
			continue
		}
		if len(e.pending) > 0 && au.PTS != e.sent+audio.SampleTime(audio.FrameSamples) {
			e.flush() // not contiguous: one run per send
		}
		if len(e.pending) == 0 {
			e.pendPTS = au.PTS
		}
		e.sent, e.sentAny = au.PTS, true
		e.encoded.Add(1)
		e.pending = append(e.pending, au.Data)
	}
}

// flush sends the access units the batch made, in one go.
func (e *audioEngine) flush() {
	if len(e.pending) > 0 {
		e.out(e.pending, e.pendPTS)
		e.pending = e.pending[:0]
	}
}

// meter receives the mixer's levels on the mixing goroutine.
func (e *audioEngine) meter(l audio.Levels) {
	pl := &pb.AudioLevels{
		PeakDbfs: l.Peak[:], RmsDbfs: l.RMS[:], Clipped: l.Clipped,
		UnixMs: e.clock.At(l.PTS).UnixMilli(),
	}
	e.mu.Lock()
	e.levels = pl
	e.mu.Unlock()
	if e.onLevels != nil {
		e.onLevels(pl)
	}
}

// fill reports the mix in st.
func (e *audioEngine) fill(st *pb.AudioStatus) {
	from := map[string]string{}
	var reasons []string
	for _, g := range e.groups {
		for _, n := range g.names {
			from[n] = g.spec
		}
		reasons = append(reasons, g.spec+": "+g.reason)
	}
	for _, s := range e.mixer.Sources() {
		st.Strips = append(st.Strips, &pb.AudioStrip{Name: s.Name, From: from[s.Name], Live: s.Status.Live,
			Reason: s.Status.Reason, VolumeDb: s.VolumeDB, Muted: s.Muted, OffsetMs: int32(s.Offset / time.Millisecond)})
	}
	st.Reason = strings.Join(reasons, "; ")
	st.Clipped = e.mixer.Clipped()
	st.EncodedFrames = e.encoded.Load()
	e.mu.Lock()
	defer e.mu.Unlock()
	st.BitrateKbps = int32(e.enc.BitrateKbps())
	st.Error = e.problems
	if e.levels != nil {
		st.Levels = proto.Clone(e.levels).(*pb.AudioLevels)
	}
}

// close stops the mix and closes the sources and the encoder.
func (e *audioEngine) close() {
	e.stop()
	<-e.done
	e.mixer.Close()
	e.mu.Lock()
	e.enc.Close()
	e.mu.Unlock()
}
