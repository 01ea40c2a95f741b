package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/onair-studio/onair/internal/jobs"
	"github.com/onair-studio/onair/stub/pb"
)

const ctlJobsUsage = `usage: master ctl jobs [COMMAND]
  (none) | list [-n N]       the newest jobs: id, kind, state, progress, output
  get ID                     one job, with its parameters and error
  submit KIND PARAMS_JSON    queue a job: remux|trim|transcode|vertical, e.g.
                             transcode '{"input":"show.mp4","renditions":[{"width":640,"height":360}]}'
  watch ID                   a live progress bar until the job ends
  cancel ID                  cancel a queued or running job
master ctl replay save [-seconds N] [-o FILE]
                             save the replay buffer's last N seconds; prints the job`

// ctlReplay saves the replay buffer.
func ctlReplay(ctx context.Context, c pb.ControlClient, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "save" {
		return usageError{fmt.Errorf("usage: master ctl replay save [-seconds N] [-o FILE]")}
	}
	fs := flag.NewFlagSet("replay save", flag.ContinueOnError)
	seconds := fs.Float64("seconds", 0, "how many of the last seconds (0: the whole buffer)")
	output := fs.String("o", "", "file name in the recordings directory (default: replay-TIME.mp4)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err}
	}
	j, err := c.SaveReplay(ctx, &pb.ReplayRequest{Seconds: *seconds, Output: *output})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "job %d: saving the replay to %s (master ctl jobs watch %d)\n", j.GetId(), j.GetOutput(), j.GetId())
	return nil
}

// ctlJobs lists, submits, watches and cancels jobs.
func ctlJobs(ctx context.Context, c pb.ControlClient, args []string, out io.Writer) error {
	usage := func(format string, a ...any) error {
		return usageError{fmt.Errorf(format+"\n%s", append(a, ctlJobsUsage)...)}
	}
	id := func() (int64, error) {
		if len(args) != 2 {
			return 0, usage("jobs %s: one job id", args[0])
		}
		n, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return 0, usage("jobs %s: %q is not a job id", args[0], args[1])
		}
		return n, nil
	}
	if len(args) == 0 {
		args = []string{"list"}
	}
	switch args[0] {
	case "list":
		fs := flag.NewFlagSet("jobs list", flag.ContinueOnError)
		n := fs.Int("n", 20, "how many of the newest jobs (0: all)")
		if err := fs.Parse(args[1:]); err != nil {
			return usageError{err}
		}
		list, err := c.ListJobs(ctx, &pb.JobListRequest{Limit: int32(*n)})
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tSTATE\tPROGRESS\tATTEMPTS\tOUTPUT\tERROR")
		for _, j := range list.GetJobs() {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d%%\t%d\t%s\t%s\n", j.GetId(), j.GetKind(), j.GetState(), j.GetProgress(), j.GetAttempts(), j.GetOutput(), j.GetError())
		}
		return tw.Flush()
	case "get":
		n, err := id()
		if err != nil {
			return err
		}
		j, err := c.GetJob(ctx, &pb.JobID{Id: n})
		if err != nil {
			return err
		}
		printJob(out, j)
		return nil
	case "submit":
		if len(args) != 3 {
			return usage("jobs submit: KIND and PARAMS_JSON")
		}
		j, err := c.SubmitJob(ctx, &pb.JobRequest{Kind: args[1], ParamsJson: args[2]})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "job %d queued: %s -> %s\n", j.GetId(), j.GetKind(), j.GetOutput())
		return nil
	case "cancel":
		n, err := id()
		if err != nil {
			return err
		}
		j, err := c.CancelJob(ctx, &pb.JobID{Id: n})
		if err != nil {
			return err
		}
		printJob(out, j)
		return nil
	case "watch":
		n, err := id()
		if err != nil {
			return err
		}
		return watchJob(ctx, c, n, out)
	case "help":
		fmt.Fprintln(out, ctlJobsUsage)
		return nil
	}
	return usage("jobs: unknown command %q", args[0])
}

func printJob(out io.Writer, j *pb.Job) {
	fmt.Fprintf(out, "job %d (%s): %s, %d%%, attempt %d\n  params: %s\n  output: %s\n",
		j.GetId(), j.GetKind(), j.GetState(), j.GetProgress(), j.GetAttempts(), j.GetParamsJson(), j.GetOutput())
	if j.GetError() != "" {
		fmt.Fprintf(out, "  error: %s\n", j.GetError())
	}
}

// watchJob draws job id's progress until it ends; a failed or cancelled
// job is an error.
func watchJob(ctx context.Context, c pb.ControlClient, id int64, out io.Writer) error {
	stream, err := c.WatchJobs(ctx, &pb.Empty{})
	if err != nil {
		return err
	}
	// Asked after the watch began, so no change falls between the two.
	j, err := c.GetJob(ctx, &pb.JobID{Id: id})
	if err != nil {
		return err
	}
	bar := progressbar.NewOptions(100, progressbar.OptionSetWriter(out),
		progressbar.OptionSetDescription(fmt.Sprintf("job %d %s", id, j.GetKind())),
		progressbar.OptionSetPredictTime(true), progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetRenderBlankState(true), progressbar.OptionThrottle(100*time.Millisecond))
	for !jobs.State(j.GetState()).Finished() {
		bar.Describe(fmt.Sprintf("job %d %s %s", id, j.GetKind(), j.GetState()))
		_ = bar.Set(int(j.GetProgress()))
		for {
			if j, err = stream.Recv(); err != nil {
				return err
			}
			if j.GetId() == id {
				break
			}
		}
	}
	if j.GetState() == "done" {
		_ = bar.Finish()
		fmt.Fprintf(out, "\njob %d done: %s\n", id, j.GetOutput())
		return nil
	}
	_ = bar.Exit()
	return fmt.Errorf("job %d %s: %s", id, j.GetState(), j.GetError())
}

// isLongCommand reports commands that run until something ends rather
// than answer at once, so the call timeout must not cut them.
func isLongCommand(args []string) bool {
	return len(args) >= 2 && args[0] == "jobs" && args[1] == "watch"
}
