package supervise

import (
	"context"
	"testing"
	"time"

	"github.com/onair-studio/onair/stub/pb"
)

func withSpare(spec Spec[pb.EncoderClient]) Spec[pb.EncoderClient] {
	spec.Spare = &Spare[pb.EncoderClient]{
		Name:      "encoder-standby",
		Configure: spec.Configure,
		Promote:   spec.Configure,
		Ping:      spec.Ping,
	}
	return spec
}

func spareReady(c *Child[pb.EncoderClient]) bool {
	s, _ := c.SpareSnapshot()
	return s.State == Standby && s.PID > 0
}

// When the running child is killed, the spare takes its place (the same
// process, not a new one), and a new spare is ready soon after.
func TestSparePromotedOnKill(t *testing.T) {
	c := Start(withSpare(helperSpec(t, 3)))
	defer c.Close()
	await(t, "child and spare ready", 20*time.Second, func() bool { return c.Snapshot().State == Running && spareReady(c) })
	active := c.Snapshot().PID
	spare, _ := c.SpareSnapshot()
	if spare.ConfiguredRevision != 3 {
		t.Fatalf("spare holds revision %d, want 3", spare.ConfiguredRevision)
	}
	kill(t, active)
	await(t, "spare promoted", 5*time.Second, func() bool {
		s := c.Snapshot()
		return s.State == Running && s.PID == spare.PID
	})
	if s := c.Snapshot(); s.Restarts != 1 || s.ConfiguredRevision != 3 {
		t.Fatalf("after promotion: %d restarts, revision %d; want 1 and 3", s.Restarts, s.ConfiguredRevision)
	}
	await(t, "a new spare", 10*time.Second, func() bool {
		s, _ := c.SpareSnapshot()
		return spareReady(c) && s.PID != spare.PID
	})
}

// A spare that keeps dying is only replaced: the running child never
// hears of it, and the crash loop rule never counts it.
func TestSpareDeathIsNotACrash(t *testing.T) {
	spec := withSpare(helperSpec(t, 1))
	spec.Policy.CrashLimit = 2
	c := Start(spec)
	defer c.Close()
	for i := 0; i < 3; i++ {
		await(t, "spare ready", 20*time.Second, func() bool { return c.Snapshot().State == Running && spareReady(c) })
		s, _ := c.SpareSnapshot()
		kill(t, s.PID)
		await(t, "spare replaced", 5*time.Second, func() bool {
			n, _ := c.SpareSnapshot()
			return n.Restarts == i+1
		})
	}
	if s := c.Snapshot(); s.State != Running || s.Restarts != 0 {
		t.Fatalf("after three spare deaths the child is %s with %d restarts, want running with none", s.State, s.Restarts)
	}
	if s, _ := c.SpareSnapshot(); s.Restarts != 3 || s.LastExit == "" {
		t.Fatalf("spare: %d replacements, last exit %q; want 3 and the reason", s.Restarts, s.LastExit)
	}
}

// Killing the child and the spare together falls back to a normal start.
func TestDoubleKillStartsAFreshChild(t *testing.T) {
	c := Start(withSpare(helperSpec(t, 1)))
	defer c.Close()
	await(t, "child and spare ready", 20*time.Second, func() bool { return c.Snapshot().State == Running && spareReady(c) })
	active := c.Snapshot().PID
	spare, _ := c.SpareSnapshot()
	kill(t, spare.PID)
	kill(t, active)
	await(t, "a fresh child", 10*time.Second, func() bool {
		s := c.Snapshot()
		return s.State == Running && s.PID != active && s.PID != spare.PID
	})
	await(t, "a new spare", 10*time.Second, func() bool { return spareReady(c) })
	// The fresh child answers: it is really there.
	cl, ok := c.Client()
	if !ok {
		t.Fatal("no client for the running child")
	}
	if _, err := cl.Status(context.Background(), &pb.StatusRequest{}); err != nil {
		t.Fatal(err)
	}
}

// A promoted spare that crashes at once counts as a crash like any other:
// with a limit of two, the second puts the child in the failed state.
func TestPromotedSpareCrashCounts(t *testing.T) {
	spec := withSpare(helperSpec(t, 1))
	spec.Policy.CrashLimit = 2
	c := Start(spec)
	defer c.Close()
	await(t, "child and spare ready", 20*time.Second, func() bool { return c.Snapshot().State == Running && spareReady(c) })
	spare, _ := c.SpareSnapshot()
	kill(t, c.Snapshot().PID)
	await(t, "spare promoted", 5*time.Second, func() bool {
		s := c.Snapshot()
		return s.State == Running && s.PID == spare.PID
	})
	kill(t, spare.PID)
	await(t, "the crash loop limit", 5*time.Second, func() bool { return c.Snapshot().State == Failed })
}
