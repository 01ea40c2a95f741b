// Package metrics serves the master's status as Prometheus metrics. Every
// value is read from the Control API's Status at scrape time, so the
// metrics never disagree with `master ctl status` or the window.
package metrics

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/onair-studio/onair/stub/pb"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("onair_"+name, help, labels, nil)
}

var (
	liveDesc          = desc("live", "1 while the program is live (desired state).")
	childUpDesc       = desc("child_up", "1 while the child process is running.", "child")
	childStateDesc    = desc("child_state", "1 for the child's current state.", "child", "state")
	childRestartsDesc = desc("child_restarts_total", "Times the child was restarted.", "child")
	programDesc       = desc("program_frames_total", "Access units the master received from the encoder.")
	capturedDesc      = desc("frames_captured_total", "Frames the encoder captured (since the encoder started).")
	encodedDesc       = desc("frames_encoded_total", "Frames the encoder encoded (since the encoder started).")
	skippedDesc       = desc("frames_skipped_total", "Frames that missed their slot (since the encoder started).")
	encodeTimeDesc    = desc("encode_seconds_per_frame", "Mean time to encode one frame.")
	stageMeanDesc     = desc("stage_seconds_per_frame", "Mean time per frame in a pipeline stage over the last second.", "stage")
	stageMaxDesc      = desc("stage_max_seconds_per_frame", "Longest time one frame took in a pipeline stage in the last second.", "stage")
	destUpDesc        = desc("destination_up", "1 while the destination is live at its server.", "destination")
	destStateDesc     = desc("destination_state", "1 for the destination's current state.", "destination", "state")
	destBytesDesc     = desc("destination_bytes_total", "Bytes sent to the destination.", "destination")
	destFramesDesc    = desc("destination_frames_total", "Video frames sent to the destination.", "destination")
	destDroppedDesc   = desc("destination_frames_dropped_total", "Frames dropped for a slow or stalled destination.", "destination")
	destAttemptsDesc  = desc("destination_reconnects_total", "Connection attempts since the destination started.", "destination")
	recordingDesc     = desc("recording", "1 while recording.")
	recBytesDesc      = desc("recording_bytes_total", "Bytes written to the current recording.")
	recDroppedDesc    = desc("recording_frames_dropped_total", "Frames the current recording dropped.")
	peakDesc          = desc("audio_peak_dbfs", "The program mix's last peak level, per channel.", "channel")
	rmsDesc           = desc("audio_rms_dbfs", "The program mix's last RMS level, per channel.", "channel")
	clippedDesc       = desc("audio_clipped_samples_total", "Samples of the mix cut at full scale (since the encoder started).")
	offsetDesc        = desc("audio_source_offset_seconds", "The A/V offset set for a sound source (positive delays it).", "source")
	mutedDesc         = desc("audio_source_muted", "1 while the sound source is muted.", "source")
)

var childStates = []string{"starting", "configuring", "running", "backoff", "failed", "stopped", "standby"}
var destStates = []string{"off", "connecting", "live", "retrying", "failed"}

// collector reads the master's status on each scrape.
type collector struct{ control pb.ControlServer }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{liveDesc, childUpDesc, childStateDesc, childRestartsDesc, programDesc,
		capturedDesc, encodedDesc, skippedDesc, encodeTimeDesc, stageMeanDesc, stageMaxDesc, destUpDesc, destStateDesc, destBytesDesc,
		destFramesDesc, destDroppedDesc, destAttemptsDesc, recordingDesc, recBytesDesc, recDroppedDesc,
		peakDesc, rmsDesc, clippedDesc, offsetDesc, mutedDesc} {
		ch <- d
	}
}

func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.control.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(liveDesc, err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(liveDesc, flag(st.GetLive()))
	for _, child := range st.GetChildren() {
		gauge(childUpDesc, flag(child.GetState() == "running"), child.GetName())
		for _, s := range childStates {
			gauge(childStateDesc, flag(child.GetState() == s), child.GetName(), s)
		}
		counter(childRestartsDesc, uint64(child.GetRestarts()), child.GetName())
	}
	counter(programDesc, st.GetProgramFrames())
	if e := st.GetEncoder(); e != nil {
		counter(capturedDesc, e.GetCapturedFrames())
		counter(encodedDesc, e.GetEncodedFrames())
		counter(skippedDesc, e.GetSkippedFrames())
		gauge(encodeTimeDesc, e.GetEncodeMsPerFrame()/1000)
		for _, s := range e.GetStages().GetStages() {
			gauge(stageMeanDesc, s.GetMeanMs()/1000, s.GetName())
			gauge(stageMaxDesc, s.GetMaxMs()/1000, s.GetName())
		}
	}
	for i, d := range st.GetDestinations() {
		name := d.GetName()
		if name == "" {
			name = strconv.Itoa(i)
		}
		gauge(destUpDesc, flag(d.GetState() == "live"), name)
		for _, s := range destStates {
			gauge(destStateDesc, flag(d.GetState() == s), name, s)
		}
		counter(destBytesDesc, d.GetBytesSent(), name)
		counter(destFramesDesc, d.GetFramesSent(), name)
		counter(destDroppedDesc, d.GetFramesDropped(), name)
		counter(destAttemptsDesc, uint64(d.GetAttempts()), name)
	}
	if r := st.GetRecording(); r != nil {
		gauge(recordingDesc, flag(r.GetState() == "recording"))
		counter(recBytesDesc, r.GetBytes())
		counter(recDroppedDesc, r.GetFramesDropped())
	}
	if a := st.GetAudio(); a != nil {
		channels := []string{"left", "right"}
		for i, v := range a.GetLevels().GetPeakDbfs() {
			if i < len(channels) {
				gauge(peakDesc, v, channels[i])
			}
		}
		for i, v := range a.GetLevels().GetRmsDbfs() {
			if i < len(channels) {
				gauge(rmsDesc, v, channels[i])
			}
		}
		counter(clippedDesc, uint64(max(a.GetClipped(), 0)))
	}
	for _, s := range st.GetAudioSettings().GetSources() {
		gauge(offsetDesc, float64(s.GetOffsetMs())/1000, s.GetSource())
		gauge(mutedDesc, flag(s.GetMuted()), s.GetSource())
	}
}

// Serve answers GET /metrics on ln until the returned stop is called.
func Serve(ln net.Listener, control pb.ControlServer) (stop func()) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{control}, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}
}
