package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub"
	"github.com/onair-studio/onair/stub/pb"
)

// binDir holds the example plugins, a plugin speaking another protocol
// version, and the pluginhost binary, built once for all tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onair-plugins-bin")
	if err != nil {
		panic(err)
	}
	build := exec.Command("go", "build", "-o", dir+"/",
		"./plugins/clock", "./plugins/watermark", "./plugins/eventlog", "./plugins/chaos", "./plugins/chromakey",
		"./internal/pluginhost/testdata/otherproto", "./cmd/pluginhost")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building plugins: %v\n%s", err, out)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// harness is a real pluginhost service behind a real gRPC server, with its
// own plugins directory.
type harness struct {
	t      *testing.T
	dir    string
	svc    *Service
	client pb.PluginHostClient
	rev    uint64
	// filterDir, when set, is where filter plugins listen for frames.
	filterDir string

	mu   sync.Mutex
	pids map[int32]bool // every plugin process seen
}

// install copies a built binary into dir under name.
func install(t *testing.T, dir, binary, name string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(binDir, binary))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// newHarness starts a service whose plugins directory holds the named
// example plugins and a manifest listing them.
func newHarness(t *testing.T, plugins ...string) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), pids: map[int32]bool{}}
	for _, p := range plugins {
		install(t, h.dir, p, p)
	}
	if _, err := WriteManifest(h.dir); err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Stderr = testWriter{t}
	h.svc = NewWithOptions(o)

	lis, err := net.Listen("unix", filepath.Join(t.TempDir(), "pluginhost.sock"))
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(64<<20), grpc.MaxSendMsgSize(64<<20))
	pb.RegisterPluginHostServer(srv, h.svc)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.Dial("unix://"+lis.Addr().String(),
		append(stub.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	h.client = pb.NewPluginHostClient(conn)
	// Cleanups run last-in first-out: the client, the server, then every
	// plugin, which must be gone afterwards.
	t.Cleanup(h.checkNoProcesses)
	t.Cleanup(h.svc.Close)
	t.Cleanup(srv.Stop)
	t.Cleanup(func() { conn.Close() })
	return h
}

// testWriter sends plugins' stderr lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (h *harness) configure(specs ...*pb.PluginSpec) *pb.PluginHostStatus {
	h.t.Helper()
	h.rev++
	st, err := h.client.Configure(context.Background(), &pb.PluginHostConfig{Revision: h.rev, PluginsDir: h.dir, Plugins: specs,
		FilterDir: h.filterDir})
	if err != nil {
		h.t.Fatal(err)
	}
	if st.GetAppliedRevision() != h.rev {
		h.t.Fatalf("applied revision %d, want %d", st.GetAppliedRevision(), h.rev)
	}
	h.note(st)
	return st
}

func pspec(name string, kv ...string) *pb.PluginSpec {
	p := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return &pb.PluginSpec{Name: name, Params: p}
}

func (h *harness) note(st *pb.PluginHostStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range st.GetPlugins() {
		if p.GetPid() != 0 {
			h.pids[p.GetPid()] = true
		}
	}
}

func (h *harness) status() *pb.PluginHostStatus {
	h.t.Helper()
	st, err := h.client.Status(context.Background(), &pb.StatusRequest{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.note(st)
	return st
}

// plugin returns name's state in the current status.
func (h *harness) plugin(name string) *pb.PluginState {
	h.t.Helper()
	for _, p := range h.status().GetPlugins() {
		if p.GetName() == name {
			return p
		}
	}
	h.t.Fatalf("no plugin %q in status", name)
	return nil
}

// awaitPlugin waits until name's state satisfies cond, and returns it.
func (h *harness) awaitPlugin(name, what string, within time.Duration, cond func(*pb.PluginState) bool) *pb.PluginState {
	h.t.Helper()
	var last *pb.PluginState
	if !testpeer.Eventually(within, func() bool { last = h.plugin(name); return cond(last) }) {
		h.t.Fatalf("%s %s: not within %s; state: %v", name, what, within, last)
	}
	return last
}

func (h *harness) awaitRunning(names ...string) {
	h.t.Helper()
	for _, n := range names {
		h.awaitPlugin(n, "running", 15*time.Second, func(p *pb.PluginState) bool { return p.GetState() == StateRunning })
	}
}

// checkNoProcesses fails the test if a plugin process outlived the service.
func (h *harness) checkNoProcesses() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for pid := range h.pids {
		if testpeer.Alive(int(pid)) {
			h.t.Errorf("plugin process %d still running after Close", pid)
		}
	}
}

// watcher records what one WatchOverlays stream receives.
type watcher struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex
	all []*pb.Overlay          // every message, in order
	cur map[string]*pb.Overlay // the current overlay per id
	err error
}

func (h *harness) watch(width, height int32) *watcher {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := h.client.WatchOverlays(ctx, &pb.WatchOverlaysRequest{Width: width, Height: height})
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	w := &watcher{t: h.t, cancel: cancel, done: make(chan struct{}), cur: map[string]*pb.Overlay{}}
	go func() {
		defer close(w.done)
		for {
			ov, err := stream.Recv()
			w.mu.Lock()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					w.err = err
				}
				w.mu.Unlock()
				return
			}
			w.all = append(w.all, ov)
			if ov.GetRemoved() {
				delete(w.cur, ov.GetId())
			} else {
				w.cur[ov.GetId()] = ov
			}
			w.mu.Unlock()
		}
	}()
	h.t.Cleanup(w.stop)
	return w
}

func (w *watcher) stop() {
	w.cancel()
	<-w.done
}

// current returns id's overlay, or nil.
func (w *watcher) current(id string) *pb.Overlay {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur[id]
}

// messages returns the messages received about id.
func (w *watcher) messages(id string) []*pb.Overlay {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*pb.Overlay
	for _, ov := range w.all {
		if ov.GetId() == id {
			out = append(out, ov)
		}
	}
	return out
}

// version is the version of the last message about id (0 if none).
func (w *watcher) version(id string) uint64 {
	m := w.messages(id)
	if len(m) == 0 {
		return 0
	}
	return m[len(m)-1].GetVersion()
}

func (w *watcher) await(what string, within time.Duration, cond func() bool) {
	w.t.Helper()
	testpeer.Await(w.t, within, what, cond)
}

// pixel returns the premultiplied RGBA at x, y of an overlay.
func pixel(ov *pb.Overlay, x, y int) [4]byte {
	i := (y*int(ov.GetWidth()) + x) * 4
	p := ov.GetRgba()
	return [4]byte{p[i], p[i+1], p[i+2], p[i+3]}
}
