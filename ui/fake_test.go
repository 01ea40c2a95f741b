package ui

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"maps"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/stub/pb"
	"github.com/onair-studio/onair/ui/link"
)

// fakeMaster is a Control API server that records the calls it gets and
// streams the status the test sets.
type fakeMaster struct {
	pb.UnimplementedControlServer
	mu      sync.Mutex
	calls   []string
	st      *pb.MasterStatus
	at      time.Time // the events' time; zero: now
	changed chan struct{}
	levels  chan *pb.AudioLevels
	jobs    fakeJobs
}

func newFakeMaster() *fakeMaster {
	return &fakeMaster{changed: make(chan struct{}, 1), levels: make(chan *pb.AudioLevels, 16), st: &pb.MasterStatus{
		Pid: 4242,
		Settings: &pb.EncoderSettings{Width: 1280, Height: 720, Fps: 30, BitrateKbps: 4500,
			KeyframeSeconds: 2, Preset: "veryfast", Backend: "auto", Source: "pattern"},
		Children:      []*pb.ChildStatus{{Name: "encoder", State: "running", Pid: 11}, {Name: "pluginhost", State: "running", Pid: 12}},
		Encoder:       &pb.EncoderStatus{Backend: "libx264", Refused: []*pb.BackendRefusal{{Backend: "h264_nvenc", Reason: "no device"}}},
		AudioSettings: &pb.AudioSettings{BitrateKbps: 160, Sources: []*pb.AudioSource{{Source: "mic"}, {Source: "desktop", Muted: true}}},
		Audio: &pb.AudioStatus{Reason: "microphone + desktop sound", Strips: []*pb.AudioStrip{
			{Name: "mic", From: "mic", Live: true, Reason: "capturing microphone (default input)"},
			{Name: "desktop", From: "desktop", Reason: "desktop sound: silent: no output"}}},
	}}
}

func (m *fakeMaster) record(call string, msg proto.Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if msg != nil {
		call += " " + strings.TrimSpace(fmt.Sprint(msg))
	}
	m.calls = append(m.calls, call)
}

// Calls are the calls made so far, with their requests.
func (m *fakeMaster) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

func (m *fakeMaster) called(prefix string) string {
	for _, c := range m.Calls() {
		if strings.HasPrefix(c, prefix) {
			return c
		}
	}
	return ""
}

// set changes the status and streams it.
func (m *fakeMaster) set(change func(*pb.MasterStatus)) {
	m.mu.Lock()
	change(m.st)
	m.mu.Unlock()
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

// setAt changes the status as seen at a time.
func (m *fakeMaster) setAt(at time.Time, change func(*pb.MasterStatus)) {
	m.mu.Lock()
	m.at = at
	m.mu.Unlock()
	m.set(change)
}

func (m *fakeMaster) eventTime() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at.IsZero() {
		return time.Now().UnixMilli()
	}
	return m.at.UnixMilli()
}

func (m *fakeMaster) status() *pb.MasterStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return proto.Clone(m.st).(*pb.MasterStatus)
}

func (m *fakeMaster) WatchEvents(_ *pb.WatchRequest, s pb.Control_WatchEventsServer) error {
	if err := s.Send(&pb.Event{UnixMs: time.Now().UnixMilli(), Log: "master running"}); err != nil {
		return err
	}
	for {
		if err := s.Send(&pb.Event{UnixMs: m.eventTime(), Status: m.status()}); err != nil {
			return err
		}
	wait:
		select {
		case <-s.Context().Done():
			return nil
		case <-m.changed:
		case l := <-m.levels:
			if err := s.Send(&pb.Event{UnixMs: time.Now().UnixMilli(), AudioLevels: l}); err != nil {
				return err
			}
			goto wait
		}
	}
}

func (m *fakeMaster) Start(context.Context, *pb.Empty) (*pb.MasterStatus, error) {
	m.record("Start", nil)
	m.set(func(st *pb.MasterStatus) { st.Live = true })
	return m.status(), nil
}

func (m *fakeMaster) Stop(context.Context, *pb.Empty) (*pb.MasterStatus, error) {
	m.record("Stop", nil)
	m.set(func(st *pb.MasterStatus) { st.Live = false })
	return m.status(), nil
}

func (m *fakeMaster) Reconnect(_ context.Context, r *pb.DestinationRequest) (*pb.MasterStatus, error) {
	m.record("Reconnect", r)
	return m.status(), nil
}

func (m *fakeMaster) Restart(_ context.Context, r *pb.ChildRequest) (*pb.MasterStatus, error) {
	m.record("Restart", r)
	return m.status(), nil
}

func (m *fakeMaster) AddDestination(_ context.Context, r *pb.DestinationSpec) (*pb.MasterStatus, error) {
	m.record("AddDestination", r)
	m.set(func(st *pb.MasterStatus) {
		st.Destinations = append(st.Destinations, &pb.DestinationStatus{Name: r.GetName(), Url: "rtmp://masked/****", State: "off"})
	})
	return m.status(), nil
}

func (m *fakeMaster) UpdateDestination(_ context.Context, r *pb.DestinationUpdate) (*pb.MasterStatus, error) {
	m.record("UpdateDestination", r)
	m.set(func(st *pb.MasterStatus) {
		st.Destinations[r.GetIndex()] = &pb.DestinationStatus{Name: r.GetSpec().GetName(), Url: "rtmp://masked/****",
			State: "off", Rendition: r.GetSpec().GetRendition()}
	})
	return m.status(), nil
}

func (m *fakeMaster) SetEncoder(_ context.Context, r *pb.EncoderSettings) (*pb.MasterStatus, error) {
	m.record("SetEncoder", r)
	m.set(func(st *pb.MasterStatus) { st.Settings = r })
	return m.status(), nil
}

func (m *fakeMaster) SetScene(_ context.Context, r *pb.Scene) (*pb.MasterStatus, error) {
	m.record("SetScene", r)
	m.set(func(st *pb.MasterStatus) { st.Scene = r.GetLayers() })
	return m.status(), nil
}

func (m *fakeMaster) SetPlugins(_ context.Context, r *pb.PluginList) (*pb.MasterStatus, error) {
	m.record("SetPlugins", r)
	m.set(func(st *pb.MasterStatus) { st.PluginList = r.GetPlugins() })
	return m.status(), nil
}

// SetAudio refuses what the real master refuses in the tests' cases: a
// volume out of range, a device that is gone.
func (m *fakeMaster) SetAudio(_ context.Context, r *pb.AudioSettings) (*pb.MasterStatus, error) {
	m.record("SetAudio", r)
	for i, s := range r.GetSources() {
		if s.GetSource() == "pulse:gone" {
			return nil, status.Errorf(codes.InvalidArgument, "audio.sources.%d.source: no audio device named \"gone\"; devices: pulse:usb_mic (USB microphone)", i)
		}
	}
	m.set(func(st *pb.MasterStatus) { st.AudioSettings = r })
	return m.status(), nil
}

func (m *fakeMaster) AudioDevices(context.Context, *pb.Empty) (*pb.AudioDeviceList, error) {
	return &pb.AudioDeviceList{Devices: []*pb.AudioDevice{{Name: "usb_mic", Description: "USB microphone"}, {Name: "gone", Description: "unplugged"}}}, nil
}

func (m *fakeMaster) Snapshot(context.Context, *pb.SnapshotRequest) (*pb.SnapshotReply, error) {
	return &pb.SnapshotReply{Image: tinyJPEG, Format: "jpeg"}, nil
}

// serve runs m behind the real Control API server (token checked) and
// returns its address.
func serve(t *testing.T, m *fakeMaster) (string, *grpc.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := control.NewServer("tok", nil)
	pb.RegisterControlServer(srv, m)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String(), srv.Server
}

// uiLoop is the UI goroutine in tests: the studio's Do queues functions,
// and only the test goroutine runs them, so widgets are never touched from
// two goroutines (fyne's test driver would run them in place).
type uiLoop struct {
	fns  chan func()
	done chan struct{}
}

func newUILoop(t *testing.T) *uiLoop {
	l := &uiLoop{fns: make(chan func(), 256), done: make(chan struct{})}
	t.Cleanup(func() { close(l.done) })
	return l
}

func (l *uiLoop) do(f func()) {
	select {
	case l.fns <- f:
	case <-l.done:
	}
}

// await runs queued UI work until cond holds.
func (l *uiLoop) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case f := <-l.fns:
			f()
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// rig is a studio in a test window, attached to a fake master through the
// real link.
type rig struct {
	t      *testing.T
	studio *Studio
	master *fakeMaster
	loop   *uiLoop
	win    fyne.Window
	addr   string
	srv    *grpc.Server
}

func newRig(t *testing.T, opts ...func(*Options)) *rig {
	t.Helper()
	return newRigWith(t, newFakeMaster(), opts...)
}

// newRigWith is newRig attached to m.
func newRigWith(t *testing.T, m *fakeMaster, opts ...func(*Options)) *rig {
	t.Helper()
	test.NewTempApp(t)
	r := &rig{t: t, master: m, loop: newUILoop(t)}
	r.addr, r.srv = serve(t, r.master)
	r.win = test.NewWindow(nil)
	t.Cleanup(r.win.Close)
	o := Options{Window: r.win, Do: r.loop.do}
	for _, f := range opts {
		f(&o)
	}
	r.studio = New(o)
	r.win.SetContent(r.studio.Content())
	r.win.Resize(fyne.NewSize(1200, 760))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		link.Run(ctx, link.Fixed(link.Target{Addr: r.addr, Token: "tok"}), r.studio.Handler(),
			link.Backoff{First: 20 * time.Millisecond, Max: 200 * time.Millisecond})
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	r.await("connected", func() bool { return r.studio.connected() && r.studio.status != nil })
	return r
}

func (r *rig) await(what string, cond func() bool) {
	r.t.Helper()
	r.loop.await(r.t, what, cond)
}

// tinyJPEG is the fake master's program picture.
var tinyJPEG = func() []byte {
	im := image.NewRGBA(image.Rect(0, 0, 16, 9))
	for i := range im.Pix {
		im.Pix[i] = 0x80
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, im, nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}()

// listenAgain serves m on addr again, as a restarted master would.
func listenAgain(t *testing.T, addr string, m *fakeMaster) *grpc.Server {
	t.Helper()
	var ln net.Listener
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv := control.NewServer("tok", nil)
	pb.RegisterControlServer(srv, m)
	go srv.Serve(ln)
	return srv.Server
}

func (m *fakeMaster) SwitchScene(_ context.Context, r *pb.SwitchSceneRequest) (*pb.MasterStatus, error) {
	m.record("SwitchScene", r)
	m.set(func(st *pb.MasterStatus) { st.ProgramScene = r.GetName() })
	return m.status(), nil
}

func (m *fakeMaster) SetPreviewScene(_ context.Context, r *pb.SceneRequest) (*pb.MasterStatus, error) {
	m.record("SetPreviewScene", r)
	m.set(func(st *pb.MasterStatus) { st.PreviewScene = r.GetName() })
	return m.status(), nil
}

func (m *fakeMaster) Transition(_ context.Context, r *pb.SwitchSceneRequest) (*pb.MasterStatus, error) {
	m.record("Transition", r)
	m.set(func(st *pb.MasterStatus) { st.ProgramScene, st.PreviewScene = st.PreviewScene, st.ProgramScene })
	return m.status(), nil
}

// SetFilters refuses a binary the plugins directory lacks, as the real
// master does.
func (m *fakeMaster) SetFilters(_ context.Context, r *pb.FilterList) (*pb.MasterStatus, error) {
	m.record("SetFilters", r)
	for i, f := range r.GetFilters() {
		if f.GetBinary() == "nosuch" {
			return nil, status.Errorf(codes.InvalidArgument, "filters.%d.binary: no plugin \"nosuch\" in the plugins directory", i)
		}
	}
	m.set(func(st *pb.MasterStatus) { st.FilterList = r.GetFilters() })
	return m.status(), nil
}

// SetFilterParams refuses a filter it does not list.
func (m *fakeMaster) SetFilterParams(_ context.Context, r *pb.PluginParamsRequest) (*pb.MasterStatus, error) {
	m.record("SetFilterParams", r)
	var found bool
	m.set(func(st *pb.MasterStatus) {
		for _, f := range st.FilterList {
			if f.GetName() == r.GetName() {
				found = true
				if f.Params == nil {
					f.Params = map[string]string{}
				}
				maps.Copy(f.Params, r.GetParams())
			}
		}
	})
	if !found {
		return nil, status.Errorf(codes.NotFound, "no filter named %q", r.GetName())
	}
	return m.status(), nil
}
