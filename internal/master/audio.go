package master

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/audiolimits"
	"github.com/onair-studio/onair/internal/broadcast"
	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/state"
	"github.com/onair-studio/onair/stub/pb"
)

// deviceListWait bounds asking the encoder for its audio devices: a busy
// encoder must not hold up a change, and then the device names stand.
const deviceListWait = 2 * time.Second

// SetAudio replaces the desired audio. It is checked whole first: the
// ranges and source strings, then whether each newly named pulse device
// exists, when the encoder can say.
func (m *Master) SetAudio(ctx context.Context, req *pb.AudioSettings) (*pb.MasterStatus, error) {
	a := audioFromPB(req)
	if err := checkAudio(a); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := m.checkDevices(ctx, a); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	st, err := m.change(ctx, func(d *state.Desired) { d.Audio = a }, func(c *config.Config) { c.Audio = a })
	if err == nil {
		m.log.Info("desired state changed", "audio", audioSummary(a))
	}
	return st, err
}

// AudioDevices relays the encoder's list of audio sources.
func (m *Master) AudioDevices(ctx context.Context, _ *pb.Empty) (*pb.AudioDeviceList, error) {
	c, ok := m.encoderClient()
	if !ok {
		return nil, status.Error(codes.Unavailable, "the encoder is not running, so no audio devices can be listed")
	}
	ctx, cancel := context.WithTimeout(ctx, deviceListWait)
	defer cancel()
	list, err := c.AudioDevices(ctx, &pb.Empty{})
	if status.Code(err) == codes.Unimplemented {
		return nil, status.Error(codes.Unimplemented, "this encoder has no audio: it cannot list audio devices")
	}
	return list, err
}

// checkAudio runs the config file's audio checks, keys and all.
func checkAudio(a config.Audio) error {
	var errs []error
	for _, e := range a.Check() {
		e.Key = "audio." + e.Key
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// checkDevices refuses a pulse:NAME source whose device the encoder does
// not have, naming those it has. Only names that are new are checked: a
// device unplugged since it was chosen must not block changing another
// source. When the encoder cannot answer, the names stand (the encoder
// plays silence for a missing device and says why).
func (m *Master) checkDevices(ctx context.Context, a config.Audio) error {
	var had []string
	for _, s := range m.state.Get().Audio.Sources {
		had = append(had, s.Source)
	}
	var fresh []int
	for i, s := range a.Sources {
		if strings.HasPrefix(s.Source, audiolimits.PulsePrefix) && !slices.Contains(had, s.Source) {
			fresh = append(fresh, i)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	list, err := m.AudioDevices(ctx, nil)
	if err != nil || list.GetError() != "" {
		return nil
	}
	var names, have []string
	for _, d := range list.GetDevices() {
		names = append(names, d.GetName())
		have = append(have, fmt.Sprintf("pulse:%s (%s)", d.GetName(), d.GetDescription()))
	}
	if len(have) == 0 {
		have = []string{"none"}
	}
	var errs []error
	for _, i := range fresh {
		src, _ := audiolimits.ParseSource(a.Sources[i].Source)
		if !slices.Contains(names, src.Device) {
			errs = append(errs, fmt.Errorf("audio.sources.%d.source: no audio device named %q; devices: %s; or mic, desktop, auto, none, tone:FREQ",
				i, src.Device, strings.Join(have, ", ")))
		}
	}
	return errors.Join(errs...)
}

// audioFromPB is the API's settings as the config's, with the API's
// defaults (no sources: auto; bitrate 0: the default).
func audioFromPB(s *pb.AudioSettings) config.Audio {
	a := config.Audio{BitrateKbps: int(s.GetBitrateKbps()), VolumeDB: s.GetVolumeDb()}
	for _, src := range s.GetSources() {
		a.Sources = append(a.Sources, config.AudioSource{Source: src.GetSource(), VolumeDB: src.GetVolumeDb(),
			Muted: src.GetMuted(), OffsetMS: int(src.GetOffsetMs())})
	}
	return a.WithDefaults()
}

// audioSettings is the desired audio for the API and the encoder.
func audioSettings(a config.Audio) *pb.AudioSettings {
	a = a.WithDefaults()
	s := &pb.AudioSettings{BitrateKbps: int32(a.BitrateKbps), VolumeDb: a.VolumeDB}
	for _, src := range a.Sources {
		s.Sources = append(s.Sources, &pb.AudioSource{Source: src.Source, VolumeDb: src.VolumeDB,
			Muted: src.Muted, OffsetMs: int32(src.OffsetMS)})
	}
	return s
}

// audioSummary is the settings in one line for the log.
func audioSummary(a config.Audio) string {
	parts := []string{fmt.Sprintf("%d kbit/s, master %+g dB", a.BitrateKbps, a.VolumeDB)}
	for _, s := range a.Sources {
		p := fmt.Sprintf("%s %+g dB", s.Source, s.VolumeDB)
		if s.Muted {
			p += " muted"
		}
		if s.OffsetMS != 0 {
			p += fmt.Sprintf(" offset %d ms", s.OffsetMS)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// levelRelay follows the running encoder's meter stream, again after every
// restart, and hands each reading to the Control API's watchers. A watcher
// keeps only the newest reading: one that falls behind skips readings and
// never holds up the others.
type levelRelay struct {
	encoder func() (pb.EncoderClient, bool)
	hub     *broadcast.Hub[*pb.AudioLevels]

	// The encoder's meters cross to the master only while someone
	// watches them here (hub.Len): a dozen readings a second, each a
	// wake-up on both sides, for nobody otherwise. changed says the
	// number of watchers may have changed.
	changed chan struct{}
}

// How soon the relay asks the encoder again: after its stream ended, and
// after an encoder said it has no meters at all.
const (
	levelsRetry         = 100 * time.Millisecond
	levelsRetryNoMeters = 5 * time.Second
)

func newLevelRelay(enc func() (pb.EncoderClient, bool)) *levelRelay {
	return &levelRelay{encoder: enc, hub: broadcast.New[*pb.AudioLevels](1), changed: make(chan struct{}, 1)}
}

// Watch returns a channel of the meters from now on, and the function that
// ends the watch; a watcher that reads nothing holds up no one.
func (r *levelRelay) Watch() (<-chan *pb.AudioLevels, func()) {
	ch, leave := r.hub.Watch()
	r.signal()
	return ch, func() {
		leave()
		r.signal()
	}
}

func (r *levelRelay) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *levelRelay) watched() bool { return r.hub.Len() > 0 }

// awaitWatched waits until the meters are watched (true) or ctx ends.
func (r *levelRelay) awaitWatched(ctx context.Context) bool {
	for !r.watched() {
		select {
		case <-ctx.Done():
			return false
		case <-r.changed:
		}
	}
	return true
}

// untilUnwatched cancels once nobody watches the meters, or ctx ends.
func (r *levelRelay) untilUnwatched(ctx context.Context, cancel context.CancelFunc) {
	defer cancel()
	for r.watched() {
		select {
		case <-ctx.Done():
			return
		case <-r.changed:
		}
	}
}

func (r *levelRelay) run(ctx context.Context) {
	for r.awaitWatched(ctx) {
		wait := levelsRetry
		if c, ok := r.encoder(); ok {
			fctx, cancel := context.WithCancel(ctx)
			go r.untilUnwatched(fctx, cancel)
			err := r.follow(fctx, c)
			unwatched := fctx.Err() != nil && ctx.Err() == nil
			cancel()
			if unwatched {
				continue // nobody to retry for: wait for a watcher
			}
			if status.Code(err) == codes.Unimplemented {
				wait = levelsRetryNoMeters
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// follow relays one encoder's stream until it ends.
func (r *levelRelay) follow(ctx context.Context, c pb.EncoderClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.WatchAudioLevels(ctx, &pb.Empty{})
	for err == nil {
		var l *pb.AudioLevels
		if l, err = stream.Recv(); err == nil {
			r.hub.Publish(l)
		}
	}
	return err
}
