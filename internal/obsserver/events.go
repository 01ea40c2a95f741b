package obsserver

import (
	"context"
	"log/slog"
	"math"
	"sync"

	"google.golang.org/grpc"

	"github.com/onair-studio/onair/internal/obsws"
	"github.com/onair-studio/onair/stub/pb"
)

// eventSource follows the master's own event stream (WatchEvents, as the
// window does) while any client is connected, and turns status changes
// and meter readings into obs-websocket events.
type eventSource struct {
	control pb.ControlServer
	emit    func(obsws.Event)
	observe func(*pb.MasterStatus)
	log     *slog.Logger

	// mu orders joins and leaves, so the watch runs exactly while some
	// client is connected.
	mu      sync.Mutex
	clients int
	cancel  context.CancelFunc
	done    chan struct{}
}

func newEventSource(c pb.ControlServer, emit func(obsws.Event), observe func(*pb.MasterStatus), log *slog.Logger) *eventSource {
	return &eventSource{control: c, emit: emit, observe: observe, log: log}
}

// join counts a client in; the first starts the watch.
func (e *eventSource) join() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clients++
	if e.clients > 1 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		var last *pb.MasterStatus
		err := e.control.WatchEvents(&pb.WatchRequest{}, watchStream{ctx: ctx, send: func(ev *pb.Event) error {
			if st := ev.GetStatus(); st != nil {
				e.observe(st)
				if last != nil {
					for _, o := range statusEvents(last, st) {
						e.emit(o)
					}
				}
				last = st
			}
			if l := ev.GetAudioLevels(); l != nil {
				e.emit(metersEvent(l))
			}
			return nil
		}})
		if err != nil && ctx.Err() == nil {
			e.log.Warn("obs-websocket: the master's events stopped", "err", err)
		}
	}(e.done)
}

// leave counts a client out; the last ends the watch.
func (e *eventSource) leave() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clients--
	if e.clients > 0 || e.cancel == nil {
		return
	}
	e.cancel()
	<-e.done
	e.cancel, e.done = nil, nil
}

// watchStream hands WatchEvents' events to a function in this process.
type watchStream struct {
	grpc.ServerStream
	ctx  context.Context
	send func(*pb.Event) error
}

func (w watchStream) Context() context.Context { return w.ctx }
func (w watchStream) Send(ev *pb.Event) error  { return w.send(ev) }

// statusEvents are the obs-websocket events for what changed between two
// statuses of the master.
func statusEvents(was, now *pb.MasterStatus) []obsws.Event {
	var out []obsws.Event
	if was.GetLive() != now.GetLive() {
		out = append(out, obsws.Event{EventType: "StreamStateChanged", EventIntent: obsws.SubOutputs,
			EventData: map[string]any{"outputActive": now.GetLive(), "outputState": outputState(now.GetLive())}})
	}
	if a, b := recordingActive(was), recordingActive(now); a != b {
		out = append(out, obsws.Event{EventType: "RecordStateChanged", EventIntent: obsws.SubOutputs,
			EventData: map[string]any{"outputActive": b, "outputState": outputState(b), "outputPath": now.GetRecording().GetPath()}})
	}
	if a, b := was.GetProgramScene(), now.GetProgramScene(); a != b && b != "" {
		out = append(out, obsws.Event{EventType: "CurrentProgramSceneChanged", EventIntent: obsws.SubScenes,
			EventData: map[string]any{"sceneName": b, "sceneUuid": sceneUUID(b)}})
	}
	before := map[string]*pb.AudioSource{}
	for _, s := range was.GetAudioSettings().GetSources() {
		before[s.GetSource()] = s
	}
	for _, s := range now.GetAudioSettings().GetSources() {
		old, ok := before[s.GetSource()]
		if !ok {
			continue
		}
		if old.GetMuted() != s.GetMuted() {
			out = append(out, obsws.Event{EventType: "InputMuteStateChanged", EventIntent: obsws.SubInputs,
				EventData: map[string]any{"inputName": s.GetSource(), "inputUuid": inputUUID(s.GetSource()), "inputMuted": s.GetMuted()}})
		}
		if old.GetVolumeDb() != s.GetVolumeDb() {
			out = append(out, obsws.Event{EventType: "InputVolumeChanged", EventIntent: obsws.SubInputs,
				EventData: map[string]any{"inputName": s.GetSource(), "inputUuid": inputUUID(s.GetSource()),
					"inputVolumeDb": s.GetVolumeDb(), "inputVolumeMul": dbToMul(s.GetVolumeDb())}})
		}
	}
	return out
}

func recordingActive(st *pb.MasterStatus) bool { return st.GetRecording().GetState() == "recording" }

func outputState(active bool) string {
	if active {
		return obsws.OutputStarted
	}
	return obsws.OutputStopped
}

// metersEvent is the program mix's meter as InputVolumeMeters. The mixer
// meters the mix only, so the mix is the one input reported, under the
// name the master volume goes by ("master").
func metersEvent(l *pb.AudioLevels) obsws.Event {
	var channels [][]float64
	for i, peak := range l.GetPeakDbfs() {
		rms := peak
		if i < len(l.GetRmsDbfs()) {
			rms = l.GetRmsDbfs()[i]
		}
		// [magnitude, peak, input peak], linear as OBS sends them.
		channels = append(channels, []float64{dbToMul(rms), dbToMul(peak), dbToMul(peak)})
	}
	return obsws.Event{EventType: "InputVolumeMeters", EventIntent: obsws.SubInputVolumeMeters,
		EventData: map[string]any{"inputs": []map[string]any{{
			"inputName": masterInput, "inputUuid": inputUUID(masterInput), "inputLevelsMul": channels}}}}
}

func dbToMul(db float64) float64 {
	if math.IsInf(db, -1) || db < -200 {
		return 0
	}
	return math.Pow(10, db/20)
}

func mulToDB(mul float64) float64 { return 20 * math.Log10(mul) }
