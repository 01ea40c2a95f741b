package link

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/onair-studio/onair/internal/control"
	"github.com/onair-studio/onair/internal/testpeer"
	"github.com/onair-studio/onair/stub/pb"
)

// master is a Control API server that sends one status event with its pid.
type master struct {
	pb.UnimplementedControlServer
	pid int32
}

func (m master) WatchEvents(_ *pb.WatchRequest, s pb.Control_WatchEventsServer) error {
	if err := s.Send(&pb.Event{Status: &pb.MasterStatus{Pid: m.pid}}); err != nil {
		return err
	}
	<-s.Context().Done()
	return nil
}

func serve(t *testing.T, pid int32) (string, *grpc.Server) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := control.NewServer("tok", nil)
	pb.RegisterControlServer(srv, master{pid: pid})
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String(), srv.Server
}

type record struct {
	mu      sync.Mutex
	pids    []int32
	again   []bool
	dropped int
}

func (r *record) handler() Handler {
	return Handler{
		Connected: func(_ pb.ControlClient, _ string, again bool) {
			r.mu.Lock()
			r.again = append(r.again, again)
			r.mu.Unlock()
		},
		Disconnected: func(error, time.Duration, int) {
			r.mu.Lock()
			r.dropped++
			r.mu.Unlock()
		},
		Event: func(ev *pb.Event) {
			r.mu.Lock()
			r.pids = append(r.pids, ev.GetStatus().GetPid())
			r.mu.Unlock()
		},
	}
}

func (r *record) snapshot() ([]int32, []bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int32(nil), r.pids...), append([]bool(nil), r.again...), r.dropped
}

// A master that goes away and comes back on another address (a restart on
// a free port) is found again through the resolver, and the handler hears
// it was a reconnection.
func TestReconnectsToARestartedMaster(t *testing.T) {
	addr1, srv1 := serve(t, 1)
	var mu sync.Mutex
	where := addr1
	resolve := func() (Target, error) {
		mu.Lock()
		defer mu.Unlock()
		return Target{Addr: where, Token: "tok"}, nil
	}
	r := &record{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Run(ctx, resolve, r.handler(), Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond})
		close(done)
	}()
	defer func() { cancel(); <-done }()

	testpeer.Await(t, 5*time.Second, "first status", func() bool { p, _, _ := r.snapshot(); return len(p) == 1 })
	srv1.Stop()
	testpeer.Await(t, 5*time.Second, "the loss noticed", func() bool { _, _, d := r.snapshot(); return d > 0 })
	addr2, _ := serve(t, 2)
	mu.Lock()
	where = addr2
	mu.Unlock()
	testpeer.Await(t, 5*time.Second, "status from the new master", func() bool {
		p, _, _ := r.snapshot()
		return len(p) > 0 && p[len(p)-1] == 2
	})
	_, again, _ := r.snapshot()
	if len(again) != 2 || again[0] || !again[1] {
		t.Fatalf("connected calls said again=%v, want [false true]", again)
	}
}

func TestWrongTokenIsReported(t *testing.T) {
	addr, _ := serve(t, 1)
	errs := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Run(ctx, Fixed(Target{Addr: addr, Token: "wrong"}), Handler{
		Connected: func(pb.ControlClient, string, bool) { t.Error("connected with a wrong token") },
		Disconnected: func(err error, _ time.Duration, _ int) {
			select {
			case errs <- err:
			default:
			}
		},
		Event: func(*pb.Event) {},
	}, DefaultBackoff)
	select {
	case err := <-errs:
		if err == nil || !strings.Contains(err.Error(), "wrong token") {
			t.Fatalf("got %v, want the server's 'wrong token'", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no error reported")
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{First: 100 * time.Millisecond, Max: time.Second}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 9: time.Second} {
		if got := b.wait(attempt); got != want {
			t.Errorf("wait(%d) = %v, want %v", attempt, got, want)
		}
	}
}

// freezer forwards TCP connections to a backend until Freeze, then keeps
// them open and silent both ways: a frozen master, or a pulled cable.
type freezer struct {
	ln     net.Listener
	frozen chan struct{}
	mu     sync.Mutex
	conns  []net.Conn
}

func startFreezer(t *testing.T, backend string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, frozen: make(chan struct{})}
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.conns {
			c.Close()
		}
	})
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", backend)
			if err != nil {
				in.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, in, out)
			f.mu.Unlock()
			go f.pipe(in, out)
			go f.pipe(out, in)
		}
	}()
	return f
}

func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-f.frozen:
			return // drop everything from now on, and keep dst open
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (f *freezer) Freeze() { close(f.frozen) }

// A master that stops answering without closing anything is noticed by the
// keepalive pings, and the window hears it lost the master.
func TestNoticesAFrozenMaster(t *testing.T) {
	t.Parallel()
	addr, _ := serve(t, 1)
	f := startFreezer(t, addr)
	r := &record{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Run(ctx, Fixed(Target{Addr: f.ln.Addr().String(), Token: "tok"}), r.handler(), DefaultBackoff)
		close(done)
	}()
	defer func() { cancel(); <-done }()

	testpeer.Await(t, 5*time.Second, "first status", func() bool { p, _, _ := r.snapshot(); return len(p) == 1 })
	f.Freeze()
	frozen := time.Now()
	testpeer.Await(t, control.KeepaliveTime+15*time.Second, "the frozen master noticed", func() bool {
		_, _, d := r.snapshot()
		return d > 0
	})
	t.Logf("a frozen master was noticed after %v", time.Since(frozen).Round(100*time.Millisecond))
}
