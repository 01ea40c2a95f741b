package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/stub/pb"
)

const ctlUsage = `usage: master ctl [--addr HOST:PORT] [--token-file FILE] [--fingerprint SHA256] COMMAND
       master ctl COMMAND --help   (or: master ctl help COMMAND)

commands:
  status [-json]     the master and each child
  start              go live
  stop               go off air
  restart CHILD      restart encoder, pluginhost or worker at once (also out of 'failed')
  reconnect N        retry destination N (from status) now
  key set NAME       store destination NAME's stream key, read from stdin
  dest add [-name N] [-service twitch|youtube|facebook|custom] [-url URL] [-rendition R] [-key-stdin]
                     add a destination (saved to the config file; the key to the key store)
  dest edit N [same flags as add]
                     replace destination N in place (a stored key stays unless -key-stdin)
  dest rm N          remove destination N (from status)
  record [-o FILE] [-rendition NAME]
                     start recording (crash-safe MP4)
  record stop        stop recording
  bitrate KBPS       change the video bitrate live
  snapshot [-o FILE] [-size WxH] [-format png|jpeg]
                     save the current program picture
  monitor-url [-ffconcat]
                     the RTSP address (with password) to watch the program; watch it
                     with: ` + monitorPlayer + `
  audio              the sound: sources, strips and level; 'audio devices' lists
                     devices; 'audio volume|mute|unmute|offset|add|rm|bitrate ...'
                     changes it (see 'master ctl audio help')
  plugin list|restart NAME|set NAME key=value...|add NAME|rm NAME
                     the plugins; 'master ctl plugin help' for more
  replay save [-seconds N] [-o FILE]
                     save the replay buffer's last N seconds as an MP4 (a job)
  jobs [list|get|submit|watch|cancel ...]
                     the job queue; 'master ctl jobs help' for more

On the master's own machine -addr, the token and -fingerprint are found in
the config directory. From another machine pass -addr and -fingerprint, and
the token with -token-file or $ONAIR_TOKEN (never as an argument, which
every user can read in ps); this machine's token goes only to its own master.

Exit status: 0 done, 1 refused (the master said why), 2 usage error,
3 no master could be reached.
`

// ctl is the attach-mode client: it talks to a running master.
func ctl(args []string) error {
	fs := flag.NewFlagSet("master ctl", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), ctlUsage+"\nflags:\n"); printFlags(fs) }
	addr := fs.String("addr", "", "master's Control API address (default: the local master's)")
	token := fs.String("token", "", "Control API token; every user on this machine can read it in ps: prefer -token-file or $ONAIR_TOKEN")
	tokenFile := fs.String("token-file", "", "file holding the Control API token, - for stdin (default: $ONAIR_TOKEN, or the local master's)")
	fingerprint := fs.String("fingerprint", "", "SHA-256 fingerprint of the master's TLS certificate (enables TLS)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the master")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil // asked for: the usage is printed
	} else if err != nil {
		return usageError{err}
	}
	if fs.NArg() == 1 && fs.Arg(0) == "help" {
		fs.SetOutput(os.Stdout)
		fs.Usage()
		return nil
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usageError{errors.New("ctl: no command")}
	}
	if done, err := ctlHelp(fs.Args(), os.Stdout); done {
		return err
	}
	if *token != "" && *tokenFile != "" {
		return usageError{errors.New("ctl: give -token or -token-file, not both")}
	}
	if *tokenFile != "" {
		var err error
		if *token, err = readSecretFile(*tokenFile); err != nil {
			return fmt.Errorf("-token-file: %w", err)
		}
	}
	if *token == "" {
		*token = os.Getenv("ONAIR_TOKEN")
	}
	if err := resolveEndpoint(addr, token, fingerprint); err != nil {
		return unreachableError{err}
	}
	client, conn, err := control.Dial(*addr, *token, *fingerprint)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !isLongCommand(fs.Args()) {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, *timeout)
		defer cancelTimeout()
	}
	return asUnreachable(ctlCommand(ctx, client, fs.Args(), os.Stdout))
}

// resolveEndpoint fills what was not given from the local master's files.
// The token found there goes only to the local master's own address: sent
// anywhere else it would hand this master to whoever listens there.
func resolveEndpoint(addr, token, fingerprint *string) error {
	dir, err := config.Dir()
	if err != nil {
		return err
	}
	local, localErr := control.ReadEndpoint(dir)
	if *addr == "" {
		if localErr != nil {
			return fmt.Errorf("no -addr given and no local master found (%v)", localErr)
		}
		*addr = local.Addr
	}
	isLocal := localErr == nil && local.Addr == *addr
	if *fingerprint == "" && isLocal {
		*fingerprint = local.Fingerprint
	}
	if *token != "" {
		return nil
	}
	if !isLocal {
		return fmt.Errorf("no token given for %s: this machine's token is sent only to its own master; give that master's token with -token-file FILE or $ONAIR_TOKEN", *addr)
	}
	*token, err = control.ReadToken(dir)
	return err
}

func ctlCommand(ctx context.Context, c pb.ControlClient, args []string, out io.Writer) error {
	var (
		st  *pb.MasterStatus
		err error
	)
	switch cmd := args[0]; cmd {
	case "status":
		fs := flag.NewFlagSet("status", flag.ContinueOnError)
		asJSON := fs.Bool("json", false, "print JSON")
		if err := fs.Parse(args[1:]); err != nil {
			return usageError{err}
		}
		if st, err = c.Status(ctx, &pb.StatusRequest{}); err != nil {
			return err
		}
		if *asJSON {
			data, err := protojson.MarshalOptions{Multiline: true, EmitUnpopulated: true, UseProtoNames: true}.Marshal(st)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(out, string(data))
			return err
		}
	case "start":
		st, err = c.Start(ctx, &pb.Empty{})
	case "stop":
		st, err = c.Stop(ctx, &pb.Empty{})
	case "restart":
		if len(args) != 2 {
			return usageError{errors.New("usage: master ctl restart encoder|encoder-standby|pluginhost|worker")}
		}
		st, err = c.Restart(ctx, &pb.ChildRequest{Child: args[1]})
	case "reconnect":
		if len(args) != 2 {
			return usageError{errors.New("usage: master ctl reconnect N")}
		}
		n, nerr := destinationIndex(args[1])
		if nerr != nil {
			return usageError{nerr}
		}
		st, err = c.Reconnect(ctx, &pb.DestinationRequest{Index: n})
	case "key":
		if len(args) != 3 || args[1] != "set" {
			return usageError{errors.New("usage: master ctl key set NAME   (the key is read from stdin)")}
		}
		key, kerr := readKey()
		if kerr != nil {
			return kerr
		}
		st, err = c.SetStreamKey(ctx, &pb.StreamKeyRequest{Name: args[2], Key: key})
	case "dest":
		if len(args) == 3 && args[1] == "rm" {
			n, nerr := destinationIndex(args[2])
			if nerr != nil {
				return usageError{nerr}
			}
			st, err = c.RemoveDestination(ctx, &pb.DestinationRequest{Index: n})
			break
		}
		if len(args) < 2 || args[1] != "add" && args[1] != "edit" {
			return usageError{errors.New("usage: master ctl dest add|edit|rm ...")}
		}
		rest, index := args[2:], int32(-1)
		if args[1] == "edit" {
			if len(rest) == 0 {
				return usageError{errors.New("usage: master ctl dest edit N [-name N] [-service S] [-url URL] [-rendition R] [-key-stdin]")}
			}
			if index, err = destinationIndex(rest[0]); err != nil {
				return usageError{err}
			}
			rest = rest[1:]
		}
		spec := &pb.DestinationSpec{}
		fs := flag.NewFlagSet("dest "+args[1], flag.ContinueOnError)
		fs.StringVar(&spec.Name, "name", "", "name (shown in status; names the stored key)")
		fs.StringVar(&spec.Service, "service", "", "twitch, youtube, facebook or custom")
		fs.StringVar(&spec.Url, "url", "", "custom: the server URL, or the whole URL with the key")
		fs.StringVar(&spec.Rendition, "rendition", "", "a configured rendition instead of the program")
		keyStdin := fs.Bool("key-stdin", false, "read the stream key from stdin (edit: without it, the stored key stays)")
		if err := fs.Parse(rest); err != nil {
			return usageError{err}
		}
		if *keyStdin {
			if spec.Key, err = readKey(); err != nil {
				return err
			}
		}
		if index >= 0 {
			st, err = c.UpdateDestination(ctx, &pb.DestinationUpdate{Index: index, Spec: spec})
		} else {
			st, err = c.AddDestination(ctx, spec)
		}
	case "record":
		req := &pb.RecordRequest{}
		if len(args) == 2 && args[1] == "stop" {
			req.Stop = true
		} else {
			fs := flag.NewFlagSet("record", flag.ContinueOnError)
			fs.StringVar(&req.Path, "o", "", "file (default: ~/onair-recordings/onair-DATE-TIME.mp4)")
			fs.StringVar(&req.Rendition, "rendition", "", "record this rendition instead of the program")
			if err := fs.Parse(args[1:]); err != nil {
				return usageError{err}
			}
			// The master may run in another directory: a relative path
			// means one in this command's.
			if req.Path != "" {
				if req.Path, err = filepath.Abs(req.Path); err != nil {
					return err
				}
			}
		}
		st, err = c.Record(ctx, req)
	case "bitrate":
		if len(args) != 2 {
			return usageError{errors.New("usage: master ctl bitrate KBPS")}
		}
		kbps, kerr := strconv.Atoi(args[1])
		if kerr != nil {
			return usageError{fmt.Errorf("bitrate %q: want a whole number of kbit/s", args[1])}
		}
		// Checked here, before it is narrowed to the API's int32.
		if kerr = config.CheckBitrate(kbps); kerr != nil {
			return usageError{fmt.Errorf("bitrate: %v", kerr)}
		}
		st, err = c.SetBitrate(ctx, &pb.BitrateRequest{Kbps: int32(kbps)})
	case "snapshot":
		return snapshot(ctx, c, args[1:], out)
	case "audio":
		return ctlAudio(ctx, c, args[1:], out)
	case "plugin":
		return ctlPlugin(ctx, c, args[1:], out)
	case "filter":
		return ctlFilter(ctx, c, args[1:], out)
	case "scene":
		return ctlScene(ctx, c, args[1:], out)
	case "replay":
		return ctlReplay(ctx, c, args[1:], out)
	case "jobs":
		return ctlJobs(ctx, c, args[1:], out)
	case "monitor-url":
		fs := flag.NewFlagSet("monitor-url", flag.ContinueOnError)
		ffconcat := fs.Bool("ffconcat", false, "print it as a script for ffplay or ffmpeg to read from a pipe ("+monitorPlayer+")")
		if err := fs.Parse(args[1:]); err != nil {
			return usageError{err}
		}
		r, err := c.MonitorURL(ctx, &pb.Empty{})
		if err != nil {
			return err
		}
		if *ffconcat {
			_, err = fmt.Fprint(out, ffconcatScript(r.GetUrl()))
		} else {
			_, err = fmt.Fprintln(out, r.GetUrl())
		}
		return err
	case "fault": // for tests; the master refuses unless fault injection is on
		if len(args) != 3 {
			return usageError{errors.New("usage: master ctl fault CHILD hang|crash")}
		}
		_, err = c.InjectFault(ctx, &pb.FaultRequest{Child: args[1], Fault: &pb.Fault{Kind: args[2]}})
		return err
	default:
		return usageError{fmt.Errorf("unknown command %q\n%s", cmd, ctlUsage)}
	}
	if err != nil {
		return err
	}
	printStatus(out, st)
	return nil
}

// monitorPlayer watches the monitor with the URL, password included, read
// from a pipe: given as an argument, the password would show in ps.
const monitorPlayer = "master ctl monitor-url -ffconcat | ffplay -f concat -safe 0 -protocol_whitelist pipe,rtsp,tcp,udp,rtp -i -"

// ffconcatScript is an FFmpeg concat script whose one file is the monitor:
// FFmpeg 5.1 has no other way to take a URL but its arguments.
func ffconcatScript(url string) string {
	return "ffconcat version 1.0\nfile '" + strings.ReplaceAll(url, "'", `'\''`) + "'\noption rtsp_transport tcp\n"
}

func snapshot(ctx context.Context, c pb.ControlClient, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	file := fs.String("o", "snapshot.png", "output file")
	size := fs.String("size", "", "WxH (default: the output size)")
	format := fs.String("format", "", "png or jpeg (default: from the file name)")
	preview := fs.Bool("preview", false, "studio mode's preview instead of the program")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	req := &pb.SnapshotRequest{Format: *format, Preview: *preview}
	if req.Format == "" {
		req.Format = "png"
		if ext := strings.ToLower(filepath.Ext(*file)); ext == ".jpg" || ext == ".jpeg" {
			req.Format = "jpeg"
		}
	}
	if *size != "" {
		if _, err := fmt.Sscanf(*size, "%dx%d", &req.Width, &req.Height); err != nil {
			return usageError{fmt.Errorf("-size %q: want WxH", *size)}
		}
	}
	r, err := c.Snapshot(ctx, req)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*file, r.GetImage(), 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "wrote %s (%s, %d bytes)\n", *file, r.GetFormat(), len(r.GetImage()))
	return err
}

// printStages prints the encoder's last second per stage on one line, the
// slowest stage marked, e.g. "  per frame (30 frames, 0 skipped), mean/max
// ms: capture 0.4/0.9, compose 0.0/0.1, ..., encode 4.1/7.2*, send 0.1/0.3".
func printStages(out io.Writer, st *pb.StageTimes) {
	if len(st.GetStages()) == 0 {
		return
	}
	slowest := 0
	for i, s := range st.GetStages() {
		if s.GetMeanMs() > st.GetStages()[slowest].GetMeanMs() {
			slowest = i
		}
	}
	var parts []string
	for i, s := range st.GetStages() {
		mark := ""
		if i == slowest {
			mark = "*"
		}
		parts = append(parts, fmt.Sprintf("%s %.1f/%.1f%s", s.GetName(), s.GetMeanMs(), s.GetMaxMs(), mark))
	}
	fmt.Fprintf(out, "  per frame, last second (%d frames, %d skipped), mean/max ms: %s\n",
		st.GetFrames(), st.GetSkipped(), strings.Join(parts, ", "))
}

// destinationIndex parses a destination's number as status lists it.
func destinationIndex(arg string) (int32, error) {
	n, err := strconv.ParseInt(arg, 10, 32)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("destination %q: want its number from status (0, 1, ...)", arg)
	}
	return int32(n), nil
}

func printStatus(out io.Writer, st *pb.MasterStatus) {
	air := "off air"
	if st.GetLive() {
		air = "LIVE"
	}
	fmt.Fprintf(out, "master pid %d, %s, desired state revision %d\n", st.GetPid(), air, st.GetRevision())
	fmt.Fprintf(out, "program: %d frames received; monitor %s\n", st.GetProgramFrames(), st.GetMonitor())
	if e := st.GetEncoder(); e != nil {
		fmt.Fprintf(out, "encoder: backend %q, %d captured, %d encoded, %d skipped, %.1f ms/frame\n",
			e.GetBackend(), e.GetCapturedFrames(), e.GetEncodedFrames(), e.GetSkippedFrames(), e.GetEncodeMsPerFrame())
		printStages(out, e.GetStages())
		for _, r := range e.GetRefused() {
			fmt.Fprintf(out, "  %s not used: %s\n", r.GetBackend(), r.GetReason())
		}
		for _, l := range e.GetLayerErrors() {
			fmt.Fprintf(out, "  layer: %s\n", l)
		}
		if e.GetError() != "" {
			fmt.Fprintf(out, "  error: %s\n", e.GetError())
		}
	}
	if st.GetRtmpPlay() != "" {
		fmt.Fprintf(out, "embedded RTMP server: play %s\n", st.GetRtmpPlay())
	}
	for i, d := range st.GetDestinations() {
		name := d.GetName()
		if name != "" {
			name += " "
		}
		fmt.Fprintf(out, "destination %d: %s%s  %s", i, name, d.GetUrl(), d.GetState())
		if d.GetRendition() != "" {
			fmt.Fprintf(out, "  rendition %s", d.GetRendition())
		}
		if d.GetNextAttemptMs() > 0 {
			fmt.Fprintf(out, " (next attempt in %dms)", d.GetNextAttemptMs())
		}
		fmt.Fprintf(out, "  sent %d frames, %d bytes, dropped %d", d.GetFramesSent(), d.GetBytesSent(), d.GetFramesDropped())
		if d.GetLink() != "" {
			fmt.Fprintf(out, "  link: %s", d.GetLink())
		}
		if d.GetError() != "" {
			fmt.Fprintf(out, "  last error: %s", d.GetError())
		}
		fmt.Fprintln(out)
	}
	if r := st.GetRecording(); r != nil {
		fmt.Fprintf(out, "recording: %s %s, %d frames, %d bytes, dropped %d", r.GetState(), r.GetPath(),
			r.GetFramesWritten(), r.GetBytes(), r.GetFramesDropped())
		if r.GetError() != "" {
			fmt.Fprintf(out, "  error: %s", r.GetError())
		}
		fmt.Fprintln(out)
	}
	if r := st.GetReplay(); r != nil {
		fmt.Fprintf(out, "replay buffer: %.1f s of %.0f s, %.1f MiB of %.0f MiB\n", float64(r.GetHeldMs())/1000,
			float64(r.GetKeepMs())/1000, float64(r.GetBytes())/(1<<20), float64(r.GetMaxBytes())/(1<<20))
	}
	for _, p := range st.GetPlugins() {
		fmt.Fprintf(out, "plugin %s: %s, %d restarts", p.GetName(), p.GetState(), p.GetRestarts())
		if p.GetError() != "" {
			fmt.Fprintf(out, "  error: %s", p.GetError())
		}
		fmt.Fprintln(out)
	}
	if st.GetFallback() != "" {
		fmt.Fprintf(out, "fallback: %s\n", st.GetFallback())
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHILD\tSTATE\tPID\tRESTARTS\tUPTIME\tREVISION\tMEMORY\tLAST EXIT")
	for _, c := range st.GetChildren() {
		state := c.GetState()
		if c.GetNextStartMs() > 0 {
			state += fmt.Sprintf(" (next start in %dms)", c.GetNextStartMs())
		}
		if c.GetNote() != "" {
			state += " (" + c.GetNote() + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%.0f MB\t%s\n", c.GetName(), state, c.GetPid(), c.GetRestarts(),
			(time.Duration(c.GetUptimeMs()) * time.Millisecond).String(), c.GetConfiguredRevision(),
			float64(c.GetMemoryBytes())/1e6, c.GetLastExit())
	}
	tw.Flush()
}

// readKey reads a stream key from stdin, so it never shows in a process
// list or a shell history.
func readKey() (string, error) {
	key, err := io.ReadAll(io.LimitReader(os.Stdin, 4096))
	return strings.TrimSpace(string(key)), err
}
