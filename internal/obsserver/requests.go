package obsserver

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/diskspace"
	"github.com/onair-studio/onair/internal/obsws"
	"github.com/onair-studio/onair/stub/pb"
)

const (
	// programScene is the one scene until the studio has scenes.
	programScene = "Program"
	// masterInput is the mix's volume, as `master ctl audio volume master`.
	masterInput = "master"
	// requestTimeout bounds one request's calls into the master.
	requestTimeout = 15 * time.Second
)

// handler answers one request type with response data, or a failure.
type handler func(s *Server, ctx context.Context, ss *session, data json.RawMessage) (any, error)

// failure is a request that did not succeed, with the protocol's status.
type failure struct {
	code obsws.Status
	msg  string
}

func (f *failure) Error() string { return f.msg }

func fail(code obsws.Status, format string, a ...any) error {
	return &failure{code: code, msg: fmt.Sprintf(format, a...)}
}

// handlers are the requests answered, by the protocol's request type.
var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"GetVersion":                  (*Server).getVersion,
		"GetStats":                    (*Server).getStats,
		"GetStreamStatus":             (*Server).getStreamStatus,
		"StartStream":                 (*Server).startStream,
		"StopStream":                  (*Server).stopStream,
		"ToggleStream":                (*Server).toggleStream,
		"GetRecordStatus":             (*Server).getRecordStatus,
		"StartRecord":                 (*Server).startRecord,
		"StopRecord":                  (*Server).stopRecord,
		"GetSceneList":                (*Server).getSceneList,
		"GetCurrentProgramScene":      (*Server).getCurrentProgramScene,
		"SetCurrentProgramScene":      (*Server).setCurrentProgramScene,
		"GetStudioModeEnabled":        (*Server).getStudioModeEnabled,
		"GetCurrentPreviewScene":      (*Server).getCurrentPreviewScene,
		"SetCurrentPreviewScene":      (*Server).setCurrentPreviewScene,
		"TriggerStudioModeTransition": (*Server).triggerTransition,
		"GetInputList":                (*Server).getInputList,
		"GetInputMute":                (*Server).getInputMute,
		"SetInputMute":                (*Server).setInputMute,
		"ToggleInputMute":             (*Server).toggleInputMute,
		"GetInputVolume":              (*Server).getInputVolume,
		"SetInputVolume":              (*Server).setInputVolume,
		"SaveReplayBuffer":            (*Server).saveReplayBuffer,
	}
}

// request answers one request; it never ends the session.
func (s *Server) request(ss *session, r obsws.Request) obsws.RequestResponse {
	resp := obsws.RequestResponse{RequestType: r.RequestType, RequestID: r.RequestID}
	h, ok := handlers[r.RequestType]
	switch {
	case r.RequestType == "":
		resp.RequestStatus = obsws.RequestStatus{Code: obsws.StatusMissingRequestType, Comment: "the request has no requestType"}
		return resp
	case !ok:
		resp.RequestStatus = obsws.RequestStatus{Code: obsws.StatusUnknownRequestType,
			Comment: fmt.Sprintf("OnAir does not answer %q (GetVersion lists what it answers)", r.RequestType)}
		return resp
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	data, err := h(s, ctx, ss, r.RequestData)
	if err != nil {
		var f *failure
		if !errors.As(err, &f) {
			f = fromRPC(err)
		}
		resp.RequestStatus = obsws.RequestStatus{Code: f.code, Comment: f.msg}
		return resp
	}
	resp.RequestStatus = obsws.RequestStatus{Result: true, Code: obsws.StatusSuccess}
	resp.ResponseData = data
	return resp
}

// fromRPC is a Control API error as the protocol's status, its message
// kept: the master's own checks say what is wrong.
func fromRPC(err error) *failure {
	st, _ := status.FromError(err)
	code := obsws.StatusRequestProcessingFailed
	switch st.Code() {
	case codes.InvalidArgument, codes.OutOfRange:
		code = obsws.StatusRequestFieldOutOfRange
	case codes.NotFound:
		code = obsws.StatusResourceNotFound
	case codes.FailedPrecondition:
		code = obsws.StatusInvalidResourceState
	case codes.Unavailable:
		code = obsws.StatusNotReady
	}
	return &failure{code: code, msg: st.Message()}
}

// fields decodes requestData into v, whose pointer fields are optional.
// A field of the wrong type is named.
func fields(data json.RawMessage, v any) error {
	if len(bytes.TrimSpace(data)) == 0 || string(bytes.TrimSpace(data)) == "null" {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fail(obsws.StatusInvalidRequestFieldType, "field %s: want %s, got %s", te.Field, te.Type, te.Value)
		}
		return fail(obsws.StatusInvalidRequestFieldType, "requestData is not an object: %v", err)
	}
	return nil
}

func (s *Server) status(ctx context.Context) (*pb.MasterStatus, error) {
	return s.opts.Control.Status(ctx, &pb.StatusRequest{})
}

func (s *Server) getVersion(context.Context, *session, json.RawMessage) (any, error) {
	names := make([]string, 0, len(handlers))
	for n := range handlers {
		names = append(names, n)
	}
	slices.Sort(names)
	return map[string]any{
		// Tools gate features on OBS's version; OnAir answers as the OBS
		// release that shipped this protocol version.
		"obsVersion":            "30.2.0",
		"obsWebSocketVersion":   obsWebSocketVersion,
		"rpcVersion":            obsws.RPCVersion,
		"availableRequests":     names,
		"supportedImageFormats": []string{},
		"platform":              runtime.GOOS,
		"platformDescription":   "OnAir studio",
	}, nil
}

// cpuSample is the last GetStats reading, to turn CPU ticks into a share.
type cpuSample struct {
	ticks uint64
	at    time.Time
}

func (s *Server) getStats(ctx context.Context, ss *session, _ json.RawMessage) (any, error) {
	st, err := s.status(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	s.mu.Lock()
	prev := s.stats
	s.stats = cpuSample{ticks: st.GetCpuTicks(), at: now}
	s.mu.Unlock()
	cpu := 0.0
	if !prev.at.IsZero() && st.GetCpuTicks() >= prev.ticks {
		cpu = float64(st.GetCpuTicks()-prev.ticks) / 100 / now.Sub(prev.at).Seconds() * 100
	}
	enc := st.GetEncoder()
	var dropped, sent uint64
	for _, d := range st.GetDestinations() {
		dropped += d.GetFramesDropped()
		sent += d.GetFramesSent()
	}
	return map[string]any{
		"cpuUsage":                         cpu,
		"memoryUsage":                      rssMB(),
		"availableDiskSpace":               freeMB(st.GetRecording().GetPath()),
		"activeFps":                        float64(st.GetSettings().GetFps()),
		"averageFrameRenderTime":           enc.GetEncodeMsPerFrame(),
		"renderSkippedFrames":              enc.GetSkippedFrames(),
		"renderTotalFrames":                enc.GetCapturedFrames(),
		"outputSkippedFrames":              dropped,
		"outputTotalFrames":                sent,
		"webSocketSessionIncomingMessages": ss.in.Load(),
		"webSocketSessionOutgoingMessages": ss.sent.Load(),
	}, nil
}

// rssMB is the master's resident memory in MB (0 where /proc is absent).
func rssMB() float64 {
	var size, resident uint64
	data, _ := os.ReadFile("/proc/self/statm")
	if _, err := fmt.Sscan(string(data), &size, &resident); err != nil {
		return 0
	}
	return float64(resident) * float64(os.Getpagesize()) / (1 << 20)
}

// freeMB is the free space where recordings go (the working directory
// before the first), in MB.
func freeMB(path string) float64 {
	dir := "."
	if path != "" {
		dir = filepath.Dir(path)
	}
	free, err := diskspace.Free(dir)
	if err != nil {
		return 0
	}
	return float64(free) / (1 << 20)
}

func (s *Server) getStreamStatus(ctx context.Context, _ *session, _ json.RawMessage) (any, error) {
	st, err := s.status(ctx)
	if err != nil {
		return nil, err
	}
	var bytes, frames, dropped uint64
	reconnecting := st.GetLive() && len(st.GetDestinations()) > 0
	for _, d := range st.GetDestinations() {
		bytes += d.GetBytesSent()
		frames += d.GetFramesSent()
		dropped += d.GetFramesDropped()
		if d.GetState() == "live" {
			reconnecting = false
		}
	}
	dur := s.live.of(st.GetLive())
	return map[string]any{
		"outputActive":        st.GetLive(),
		"outputReconnecting":  reconnecting,
		"outputTimecode":      timecode(dur),
		"outputDuration":      dur.Milliseconds(),
		"outputCongestion":    0,
		"outputBytes":         bytes,
		"outputSkippedFrames": dropped,
		"outputTotalFrames":   frames,
	}, nil
}

func timecode(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

func (s *Server) setLive(ctx context.Context, live bool) error {
	st, err := s.status(ctx)
	if err != nil {
		return err
	}
	if st.GetLive() == live {
		if live {
			return fail(obsws.StatusOutputRunning, "the stream is already live")
		}
		return fail(obsws.StatusOutputNotRunning, "the stream is not live")
	}
	if live {
		_, err = s.opts.Control.Start(ctx, &pb.Empty{})
	} else {
		_, err = s.opts.Control.Stop(ctx, &pb.Empty{})
	}
	return err
}

func (s *Server) startStream(ctx context.Context, _ *session, _ json.RawMessage) (any, error) {
	return nil, s.setLive(ctx, true)
}

func (s *Server) stopStream(ctx context.Context, _ *session, _ json.RawMessage) (any, error) {
	return nil, s.setLive(ctx, false)
}

func (s *Server) toggleStream(ctx context.Context, _ *session, _ json.RawMessage) (any, error) {
	st, err := s.status(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.setLive(ctx, !st.GetLive()); err != nil {
		return nil, err
	}
	return map[string]any{"outputActive": !st.GetLive()}, nil
}

func (s *Server) getRecordStatus(ctx context.Context, _ *session, _ json.RawMessage) (any, error) {
	st, err := s.status(ctx)
	if err != nil {
		return nil, err
	}
	r := st.GetRecording()
	dur := s.recording.of(recordingActive(st))
	return map[string]any{
		"outputActive":   recordingActive(st),
		"outputPaused":   false,
		"outputTimecode": timecode(dur),
		"outputDuration": dur.Milliseconds(),
		"outputBytes":    r.GetBytes(),
	}, nil
}

func (s *Server) startRecord(ctx context.Context, _ *session, _ json.RawMessage) (any, error) {
	st, err := s.status(ctx)
	if err != nil {
		return nil, err
	}
	if recordingActive(st) {
		return nil, fail(obsws.StatusOutputRunning, "already recording to %s", st.GetRecording().GetPath())
	}
	_, err = s.opts.Control.Record(ctx, &pb.RecordRequest{})
	return nil, err
}

func (s *Server) stopRecord(ctx context.Context, _ *session, _ json.RawMessage) (any, error) {
	st, err := s.status(ctx)
	if err != nil {
		return nil, err
	}
	if !recordingActive(st) {
		return nil, fail(obsws.StatusOutputNotRunning, "not recording")
	}
	if _, err := s.opts.Control.Record(ctx, &pb.RecordRequest{Stop: true}); err != nil {
		return nil, err
	}
	return map[string]any{"outputPath": st.GetRecording().GetPath()}, nil
}

// scenes are the studio's scene names, bottom of the list first, and the
// one on air. Without named scenes the program is one scene, "Program".
func (s *Server) scenes(ctx context.Context) (names []string, program string, err error) {
	list, err := s.opts.Control.ListScenes(ctx, &pb.Empty{})
	if err != nil {
		return nil, "", err
	}
	if len(list.GetScenes()) == 0 {
		return []string{programScene}, programScene, nil
	}
	for _, sc := range list.GetScenes() {
		names = append(names, sc.GetName())
	}
	return names, list.GetProgram(), nil
}

func sceneUUID(name string) string { return inputUUID("scene:" + name) }

func (s *Server) getSceneList(ctx context.Context, _ *session, _ json.RawMessage) (any, error) {
	names, program, err := s.scenes(ctx)
	if err != nil {
		return nil, err
	}
	// OBS lists the top of its scene list last, with the highest index.
	var list []map[string]any
	for i, n := range names {
		list = append(list, map[string]any{"sceneIndex": len(names) - 1 - i, "sceneName": n, "sceneUuid": sceneUUID(n)})
	}
	slices.Reverse(list)
	out := map[string]any{
		"currentProgramSceneName": program, "currentProgramSceneUuid": sceneUUID(program),
		"currentPreviewSceneName": nil, "currentPreviewSceneUuid": nil,
		"scenes": list,
	}
	if preview, err := s.previewScene(ctx); err == nil {
		out["currentPreviewSceneName"], out["currentPreviewSceneUuid"] = preview, sceneUUID(preview)
	}
	return out, nil
}

func (s *Server) getCurrentProgramScene(ctx context.Context, _ *session, _ json.RawMessage) (any, error) {
	_, program, err := s.scenes(ctx)
	if err != nil {
		return nil, err
	}
	id := sceneUUID(program)
	return map[string]any{"sceneName": program, "sceneUuid": id,
		"currentProgramSceneName": program, "currentProgramSceneUuid": id}, nil
}

// setCurrentProgramScene switches the program with the default transition,
// through the same call as `master ctl scene switch`.
func (s *Server) setCurrentProgramScene(ctx context.Context, _ *session, data json.RawMessage) (any, error) {
	name, err := sceneField(data)
	if err != nil {
		return nil, err
	}
	names, _, err := s.scenes(ctx)
	if err != nil {
		return nil, err
	}
	i, err := findScene(names, name)
	if err != nil {
		return nil, err
	}
	if names[i] == programScene && len(names) == 1 {
		return nil, nil // the one scene is always on air
	}
	if _, err := s.opts.Control.SwitchScene(ctx, &pb.SwitchSceneRequest{Name: names[i]}); err != nil {
		return nil, err
	}
	return nil, nil
}

// findScene is the index of the scene named, by name or UUID, in names.
func findScene(names []string, name string) (int, error) {
	i := slices.IndexFunc(names, func(n string) bool { return n == name || sceneUUID(n) == name })
	if i < 0 {
		return 0, fail(obsws.StatusResourceNotFound, "no scene %q; the scenes are %q", name, names)
	}
	return i, nil
}

// previewScene is studio mode's preview scene, or the protocol's "studio
// mode not active".
func (s *Server) previewScene(ctx context.Context) (string, error) {
	st, err := s.status(ctx)
	if err != nil {
		return "", err
	}
	if st.GetPreviewScene() == "" {
		return "", fail(obsws.StatusStudioModeNotActive, "studio mode is off (master ctl scene preview NAME turns it on)")
	}
	return st.GetPreviewScene(), nil
}

func (s *Server) getStudioModeEnabled(ctx context.Context, _ *session, _ json.RawMessage) (any, error) {
	st, err := s.status(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"studioModeEnabled": st.GetPreviewScene() != ""}, nil
}

func (s *Server) getCurrentPreviewScene(ctx context.Context, _ *session, _ json.RawMessage) (any, error) {
	name, err := s.previewScene(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"sceneName": name, "sceneUuid": sceneUUID(name),
		"currentPreviewSceneName": name, "currentPreviewSceneUuid": sceneUUID(name)}, nil
}

func (s *Server) setCurrentPreviewScene(ctx context.Context, _ *session, data json.RawMessage) (any, error) {
	name, err := sceneField(data)
	if err != nil {
		return nil, err
	}
	if _, err := s.previewScene(ctx); err != nil {
		return nil, err
	}
	names, _, err := s.scenes(ctx)
	if err != nil {
		return nil, err
	}
	i, err := findScene(names, name)
	if err != nil {
		return nil, err
	}
	_, err = s.opts.Control.SetPreviewScene(ctx, &pb.SceneRequest{Name: names[i]})
	return nil, err
}

// triggerTransition puts the preview on air with the default fade.
func (s *Server) triggerTransition(ctx context.Context, _ *session, _ json.RawMessage) (any, error) {
	if _, err := s.previewScene(ctx); err != nil {
		return nil, err
	}
	_, err := s.opts.Control.Transition(ctx, &pb.SwitchSceneRequest{})
	return nil, err
}

// saveReplayBuffer saves the master's replay buffer as `master ctl replay
// save` does: the clip is taken at once and written as a job. A buffer
// with nothing to save yet answers the protocol's 604, as OBS does.
func (s *Server) saveReplayBuffer(ctx context.Context, _ *session, _ json.RawMessage) (any, error) {
	_, err := s.opts.Control.SaveReplay(ctx, &pb.ReplayRequest{})
	return nil, err
}

// sceneField is the scene a request names, by sceneName or sceneUuid.
func sceneField(data json.RawMessage) (string, error) {
	var req struct {
		SceneName *string `json:"sceneName"`
		SceneUUID *string `json:"sceneUuid"`
	}
	if err := fields(data, &req); err != nil {
		return "", err
	}
	return oneOf("sceneName", req.SceneName, "sceneUuid", req.SceneUUID)
}

// oneOf is the value of a field given by name or by UUID; one is required.
func oneOf(nameKey string, name *string, uuidKey string, uuid *string) (string, error) {
	switch {
	case name != nil && *name != "":
		return *name, nil
	case uuid != nil && *uuid != "":
		return *uuid, nil
	case name != nil || uuid != nil:
		return "", fail(obsws.StatusRequestFieldEmpty, "%s is empty", nameKey)
	}
	return "", fail(obsws.StatusMissingRequestField, "give %s or %s", nameKey, uuidKey)
}

// inputUUID is a stable UUID-shaped id for a name: OnAir's sources are
// named by their source string, and tools that key on UUIDs get the same
// one every time.
func inputUUID(name string) string {
	h := sha1.Sum([]byte("onair:" + name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// inputKind names a source's kind as OBS would the nearest input.
func inputKind(source string) string {
	switch {
	case source == "mic" || len(source) > 6 && source[:6] == "pulse:":
		return "pulse_input_capture"
	case source == "desktop":
		return "pulse_output_capture"
	}
	return "onair_audio_source"
}

func (s *Server) getInputList(ctx context.Context, _ *session, data json.RawMessage) (any, error) {
	var req struct {
		InputKind *string `json:"inputKind"`
	}
	if err := fields(data, &req); err != nil {
		return nil, err
	}
	st, err := s.status(ctx)
	if err != nil {
		return nil, err
	}
	inputs := []map[string]any{}
	for _, src := range st.GetAudioSettings().GetSources() {
		kind := inputKind(src.GetSource())
		if req.InputKind != nil && *req.InputKind != "" && *req.InputKind != kind {
			continue
		}
		inputs = append(inputs, map[string]any{"inputName": src.GetSource(), "inputUuid": inputUUID(src.GetSource()),
			"inputKind": kind, "unversionedInputKind": kind})
	}
	return map[string]any{"inputs": inputs}, nil
}

// inputRequest is the fields the input requests share.
type inputRequest struct {
	InputName      *string  `json:"inputName"`
	InputUUID      *string  `json:"inputUuid"`
	InputMuted     *bool    `json:"inputMuted"`
	InputVolumeMul *float64 `json:"inputVolumeMul"`
	InputVolumeDb  *float64 `json:"inputVolumeDb"`
}

// audioChange reads the master's audio settings and finds the input a
// request names; change (if any) edits a copy, which goes back whole
// through SetAudio, the same call and checks as `master ctl audio`.
// allowMaster lets "master" name the mix's volume.
func (s *Server) audioChange(ctx context.Context, data json.RawMessage, allowMaster bool,
	change func(req inputRequest, a *pb.AudioSettings, src *pb.AudioSource) error) (*pb.AudioSettings, *pb.AudioSource, error) {
	var req inputRequest
	if err := fields(data, &req); err != nil {
		return nil, nil, err
	}
	name, err := oneOf("inputName", req.InputName, "inputUuid", req.InputUUID)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.status(ctx)
	if err != nil {
		return nil, nil, err
	}
	a := proto.Clone(st.GetAudioSettings()).(*pb.AudioSettings)
	var src *pb.AudioSource
	var names []string
	for _, x := range a.GetSources() {
		if x.GetSource() == name || inputUUID(x.GetSource()) == name {
			src = x
		}
		names = append(names, x.GetSource())
	}
	if src == nil && !(allowMaster && (name == masterInput || name == inputUUID(masterInput))) {
		return nil, nil, fail(obsws.StatusResourceNotFound, "no input %q (inputs: %v)", name, names)
	}
	if change == nil {
		return a, src, nil
	}
	if err := change(req, a, src); err != nil {
		return nil, nil, err
	}
	if _, err := s.opts.Control.SetAudio(ctx, a); err != nil {
		return nil, nil, err
	}
	return a, src, nil
}

func (s *Server) getInputMute(ctx context.Context, _ *session, data json.RawMessage) (any, error) {
	_, src, err := s.audioChange(ctx, data, false, nil)
	if err != nil {
		return nil, err
	}
	return map[string]any{"inputMuted": src.GetMuted()}, nil
}

func (s *Server) setInputMute(ctx context.Context, _ *session, data json.RawMessage) (any, error) {
	_, _, err := s.audioChange(ctx, data, false, func(req inputRequest, _ *pb.AudioSettings, src *pb.AudioSource) error {
		if req.InputMuted == nil {
			return fail(obsws.StatusMissingRequestField, "give inputMuted")
		}
		src.Muted = *req.InputMuted
		return nil
	})
	return nil, err
}

func (s *Server) toggleInputMute(ctx context.Context, _ *session, data json.RawMessage) (any, error) {
	_, src, err := s.audioChange(ctx, data, false, func(_ inputRequest, _ *pb.AudioSettings, src *pb.AudioSource) error {
		src.Muted = !src.Muted
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"inputMuted": src.GetMuted()}, nil
}

func (s *Server) getInputVolume(ctx context.Context, _ *session, data json.RawMessage) (any, error) {
	a, src, err := s.audioChange(ctx, data, true, nil)
	if err != nil {
		return nil, err
	}
	db := a.GetVolumeDb()
	if src != nil {
		db = src.GetVolumeDb()
	}
	return map[string]any{"inputVolumeDb": db, "inputVolumeMul": dbToMul(db)}, nil
}

func (s *Server) setInputVolume(ctx context.Context, _ *session, data json.RawMessage) (any, error) {
	_, _, err := s.audioChange(ctx, data, true, func(req inputRequest, a *pb.AudioSettings, src *pb.AudioSource) error {
		var db float64
		switch {
		case req.InputVolumeDb != nil && req.InputVolumeMul != nil:
			return fail(obsws.StatusTooManyRequestFields, "give inputVolumeDb or inputVolumeMul, not both")
		case req.InputVolumeDb != nil:
			db = *req.InputVolumeDb
		case req.InputVolumeMul != nil:
			if *req.InputVolumeMul <= 0 {
				return fail(obsws.StatusRequestFieldOutOfRange, "inputVolumeMul %v: mute the input instead of a volume of 0", *req.InputVolumeMul)
			}
			db = mulToDB(*req.InputVolumeMul)
		default:
			return fail(obsws.StatusMissingRequestField, "give inputVolumeDb or inputVolumeMul")
		}
		if src == nil {
			a.VolumeDb = db
		} else {
			src.VolumeDb = db
		}
		return nil
	})
	return nil, err
}

// activeSince keeps when an output was first seen active, for its timecode.
type activeSince struct {
	mu sync.Mutex
	at time.Time
}

// of is how long the output has been active (0 when it is not).
func (a *activeSince) of(active bool) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !active {
		a.at = time.Time{}
		return 0
	}
	if a.at.IsZero() {
		a.at = time.Now()
	}
	return time.Since(a.at)
}
