package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/stub/pb"
)

const ctlUsage = `usage: master ctl [-addr HOST:PORT] [-token TOKEN] [-fingerprint SHA256] COMMAND

commands:
  status [-json]     the master and each child
  start              go live
  stop               go off air
  restart CHILD      restart encoder or pluginhost at once (also out of 'failed')

On the master's own machine -addr, -token and -fingerprint are found in the
config directory. From another machine pass all three.
`

// ctl is the attach-mode client: it talks to a running master.
func ctl(args []string) error {
	fs := flag.NewFlagSet("master ctl", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), ctlUsage); fs.PrintDefaults() }
	addr := fs.String("addr", "", "master's Control API address (default: the local master's)")
	token := fs.String("token", os.Getenv("ONAIR_TOKEN"), "Control API token (default: $ONAIR_TOKEN, or the local master's)")
	fingerprint := fs.String("fingerprint", "", "SHA-256 fingerprint of the master's TLS certificate (enables TLS)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the master")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usageError{errors.New("ctl: no command")}
	}
	if err := resolveEndpoint(addr, token, fingerprint); err != nil {
		return err
	}
	client, conn, err := control.Dial(*addr, *token, *fingerprint)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	return ctlCommand(ctx, client, fs.Args(), os.Stdout)
}

// resolveEndpoint fills what was not given from the local master's files.
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
	if *fingerprint == "" && local.Addr == *addr {
		*fingerprint = local.Fingerprint
	}
	if *token == "" {
		t, err := control.ReadToken(dir)
		if err != nil {
			return err
		}
		*token = t
	}
	return nil
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
			return usageError{errors.New("usage: master ctl restart encoder|pluginhost")}
		}
		st, err = c.Restart(ctx, &pb.ChildRequest{Child: args[1]})
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

func printStatus(out io.Writer, st *pb.MasterStatus) {
	air := "off air"
	if st.GetLive() {
		air = "LIVE"
	}
	fmt.Fprintf(out, "master pid %d, %s, desired state revision %d\n", st.GetPid(), air, st.GetRevision())
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHILD\tSTATE\tPID\tRESTARTS\tUPTIME\tREVISION\tLAST EXIT")
	for _, c := range st.GetChildren() {
		state := c.GetState()
		if c.GetNextStartMs() > 0 {
			state += fmt.Sprintf(" (next start in %dms)", c.GetNextStartMs())
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%s\n", c.GetName(), state, c.GetPid(), c.GetRestarts(),
			(time.Duration(c.GetUptimeMs()) * time.Millisecond).String(), c.GetConfiguredRevision(), c.GetLastExit())
	}
	tw.Flush()
}
