package rtmpserver

import (
	"log/slog"
	"testing"
	"time"
)

func TestPlayerQueueDropsToKeyframe(t *testing.T) {
	dropped := 0
	pl := newPlayer(nil, nil, 1, 4, time.Minute, slog.New(slog.DiscardHandler), func(n int) { dropped += n })
	meta := &packet{typeID: typeData, config: true}
	seq := &packet{typeID: typeVideo, config: true}
	key := &packet{typeID: typeVideo, key: true}
	inter := &packet{typeID: typeVideo}

	pl.enqueue(inter) // nothing decodable yet: dropped
	pl.enqueue(meta)
	pl.enqueue(seq)
	pl.enqueue(key)
	pl.enqueue(inter) // full
	seq2 := &packet{typeID: typeVideo, config: true}
	pl.enqueue(seq2)  // overflow: keeps the latest metadata and sequence header
	pl.enqueue(inter) // waits for a keyframe: dropped
	pl.enqueue(key)
	got := pl.take()
	want := []*packet{meta, seq, seq2, key}
	if len(got) != len(want) {
		t.Fatalf("took %d packets, want %d", len(got), len(want))
	}
	// After the overflow the queue held meta and seq; seq2 and key follow.
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("packet %d is not the expected one", i)
		}
	}
	if dropped != 4 {
		t.Errorf("dropped %d, want 4 (1 early, key and inter at overflow, 1 waiting)", dropped)
	}
}
