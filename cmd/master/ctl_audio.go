package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/audiolimits"
	"github.com/onair-studio/onair/stub/pb"
)

const ctlAudioUsage = `usage: master ctl audio [COMMAND]
  (none)               the sources, the mixer's strips and the mix's level
  devices              the audio devices the encoder can capture (pulse:NAME)
  volume SOURCE DB     set a source's volume in dB; SOURCE 'master' is the mix's
  mute SOURCE          mute a source (unmute SOURCE: unmute it)
  offset SOURCE MS     delay a source by MS milliseconds (negative: earlier)
  add SOURCE           mix another source: mic, desktop, auto, none, pulse:NAME, tone:FREQ
  rm SOURCE            stop mixing a source
  bitrate KBPS         the AAC bitrate`

// masterStrip names the master volume where a command takes a source.
const masterStrip = "master"

// ctlAudio reads and steers the program's sound. Each change reads the
// master's audio settings, changes one thing and sends them back whole.
func ctlAudio(ctx context.Context, c pb.ControlClient, args []string, out io.Writer) error {
	usage := func(format string, a ...any) error {
		return usageError{fmt.Errorf(format+"\n%s", append(a, ctlAudioUsage)...)}
	}
	if len(args) == 0 {
		st, err := c.Status(ctx, &pb.StatusRequest{})
		if err != nil {
			return err
		}
		printAudio(out, st)
		return nil
	}
	if args[0] == "help" || args[0] == "-h" {
		_, err := fmt.Fprintln(out, ctlAudioUsage)
		return err
	}
	if args[0] == "devices" {
		list, err := c.AudioDevices(ctx, &pb.Empty{})
		if err != nil {
			return err
		}
		if list.GetError() != "" {
			fmt.Fprintf(out, "no device list: %s\n", list.GetError())
		}
		for _, d := range list.GetDevices() {
			fmt.Fprintf(out, "pulse:%s\t%s\n", d.GetName(), d.GetDescription())
		}
		return nil
	}
	want := map[string]int{"volume": 2, "mute": 1, "unmute": 1, "offset": 2, "add": 1, "rm": 1, "bitrate": 1}
	n, ok := want[args[0]]
	if !ok {
		return usage("unknown audio command %q", args[0])
	}
	if len(args) != n+1 {
		return usage("audio %s takes %d argument(s)", args[0], n)
	}
	st, err := c.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		return err
	}
	a := proto.Clone(st.GetAudioSettings()).(*pb.AudioSettings)
	if a == nil {
		a = &pb.AudioSettings{}
	}
	// source finds a configured source; "master" is allowed where it may be.
	source := func(name string, master bool) (*pb.AudioSource, error) {
		if master && name == masterStrip {
			return nil, nil
		}
		var names []string
		for _, s := range a.GetSources() {
			if s.GetSource() == name {
				return s, nil
			}
			names = append(names, s.GetSource())
		}
		also := ""
		if master {
			also = "; 'master' is the mix"
		}
		return nil, fmt.Errorf("no audio source %q (sources: %s%s)", name, strings.Join(names, ", "), also)
	}
	switch args[0] {
	case "volume":
		db, perr := strconv.ParseFloat(args[2], 64)
		if perr != nil {
			return usage("volume %q: want a number of dB, e.g. -6", args[2])
		}
		s, err := source(args[1], true)
		if err != nil {
			return err
		}
		if s == nil {
			a.VolumeDb = db
		} else {
			s.VolumeDb = db
		}
	case "mute", "unmute":
		s, err := source(args[1], false)
		if err != nil {
			return err
		}
		s.Muted = args[0] == "mute"
	case "offset":
		ms, perr := strconv.ParseInt(args[2], 10, 64)
		if perr != nil {
			return usage("offset %q: want a whole number of milliseconds, e.g. 40 or -120", args[2])
		}
		// Checked here, before it is narrowed to the API's int32.
		if err := audiolimits.CheckOffsetMS(ms); err != nil {
			return usageError{err}
		}
		s, err := source(args[1], false)
		if err != nil {
			return err
		}
		s.OffsetMs = int32(ms)
	case "add":
		a.Sources = append(a.Sources, &pb.AudioSource{Source: args[1]})
	case "rm":
		s, err := source(args[1], false)
		if err != nil {
			return err
		}
		if len(a.GetSources()) == 1 {
			return fmt.Errorf("%q is the only audio source: add another first, or mute it", args[1])
		}
		a.Sources = slices.DeleteFunc(a.Sources, func(x *pb.AudioSource) bool { return x == s })
	case "bitrate":
		kbps, perr := strconv.Atoi(args[1])
		if perr != nil {
			return usage("bitrate %q: want a whole number of kbit/s", args[1])
		}
		if err := audiolimits.CheckBitrateKbps(kbps); err != nil {
			return usageError{err}
		}
		a.BitrateKbps = int32(kbps)
	}
	if st, err = c.SetAudio(ctx, a); err != nil {
		return err
	}
	printAudio(out, st)
	return nil
}

// printAudio shows the desired audio, what the encoder's mixer does, and
// the mix's last level.
func printAudio(out io.Writer, st *pb.MasterStatus) {
	a := st.GetAudioSettings()
	fmt.Fprintf(out, "audio: AAC %d kbit/s, master volume %+g dB\n", a.GetBitrateKbps(), a.GetVolumeDb())
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tVOLUME\tMUTED\tOFFSET")
	for _, s := range a.GetSources() {
		muted := "no"
		if s.GetMuted() {
			muted = "MUTED"
		}
		fmt.Fprintf(tw, "%s\t%+g dB\t%s\t%d ms\n", s.GetSource(), s.GetVolumeDb(), muted, s.GetOffsetMs())
	}
	tw.Flush()
	e := st.GetAudio()
	if e == nil {
		fmt.Fprintln(out, "mixer: no report from the encoder (not running, or without audio)")
		return
	}
	if e.GetReason() != "" {
		fmt.Fprintf(out, "mixer: %s\n", e.GetReason())
	}
	if e.GetError() != "" {
		fmt.Fprintf(out, "no audio track: %s\n", e.GetError())
	}
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STRIP\tFROM\tSTATE\tVOLUME\tWHY")
	for _, s := range e.GetStrips() {
		state := "silent"
		if s.GetLive() {
			state = "live"
		}
		if s.GetMuted() {
			state += ", muted"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%+g dB\t%s\n", s.GetName(), s.GetFrom(), state, s.GetVolumeDb(), s.GetReason())
	}
	tw.Flush()
	if l := e.GetLevels(); l != nil {
		fmt.Fprintf(out, "mix level: peak %s dBFS, rms %s dBFS, %d samples clipped\n",
			dbList(l.GetPeakDbfs()), dbList(l.GetRmsDbfs()), e.GetClipped())
	}
}

// dbList is per-channel levels as "L / R".
func dbList(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, " / ")
}
