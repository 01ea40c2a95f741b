package main

import (
	"net/http"
	"regexp"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/onair-studio/onair/internal/testpeer"
)

// scrape reads /metrics and parses it with Prometheus' own text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return fams
}

// value is the metric's value with the given label (or the only one).
func value(fams map[string]*dto.MetricFamily, name, label, want string) (float64, bool) {
	f := fams[name]
	for _, m := range f.GetMetric() {
		ok := label == ""
		for _, l := range m.GetLabel() {
			ok = ok || l.GetName() == label && l.GetValue() == want
		}
		if !ok {
			continue
		}
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue(), true
		}
		return m.GetGauge().GetValue(), true
	}
	return 0, false
}

// /metrics parses as Prometheus text; its counters rise while live, and a
// live server killed under a destination shows in onair_destination_up.
func TestMetricsFollowTheStream(t *testing.T) {
	t.Parallel()
	n := testpeer.StartNginx(t, testpeer.NginxOptions{})
	m := startMaster(t, nil, "-children", "encoder", "-source", "pattern", "-width", "320", "-height", "180",
		"-dest", n.URL("live", "onair"), "-live", "-metrics", "127.0.0.1:0")
	urlRE := regexp.MustCompile(`Prometheus metrics.*url=(\S+)`)
	var url string
	m.Await("metrics listening", 10*time.Second, func() bool {
		if s := urlRE.FindStringSubmatch(m.Out.String()); s != nil {
			url = s[1]
		}
		return url != ""
	})
	m.Await("destination live", 15*time.Second, func() bool {
		up, _ := value(scrape(t, url), "onair_destination_up", "destination", "0")
		return up == 1
	})
	m.AwaitConfigured(15*time.Second, "encoder")
	m.Await("encoder reporting frames", 15*time.Second, func() bool {
		return m.Status().GetEncoder().GetEncodedFrames() > 0
	})
	first := scrape(t, url)
	for _, name := range []string{"onair_child_up", "onair_child_restarts_total", "onair_frames_captured_total",
		"onair_frames_encoded_total", "onair_frames_skipped_total", "onair_encode_seconds_per_frame",
		"onair_destination_bytes_total", "onair_destination_frames_dropped_total", "onair_destination_reconnects_total"} {
		if _, ok := value(first, name, "", ""); !ok {
			t.Errorf("%s is missing", name)
		}
	}
	m.Await("the encode stage's time per frame", 10*time.Second, func() bool {
		mean, _ := value(scrape(t, url), "onair_stage_seconds_per_frame", "stage", "encode")
		max, _ := value(scrape(t, url), "onair_stage_max_seconds_per_frame", "stage", "encode")
		return mean > 0 && max >= mean
	})
	if up, _ := value(first, "onair_child_up", "child", "encoder"); up != 1 {
		t.Errorf("onair_child_up{child=encoder} = %v while the encoder runs", up)
	}
	for _, name := range []string{"onair_frames_encoded_total", "onair_destination_bytes_total"} {
		was, _ := value(first, name, "", "")
		m.Await(name+" rising", 10*time.Second, func() bool {
			now, _ := value(scrape(t, url), name, "", "")
			return now > was
		})
	}

	if err := syscall.Kill(n.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	m.Await("onair_destination_up 0 once its server is gone", 15*time.Second, func() bool {
		up, ok := value(scrape(t, url), "onair_destination_up", "destination", "0")
		return ok && up == 0
	})
}
