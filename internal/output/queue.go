package output

import (
	"sync"
	"time"
)

// accessUnit is one picture, or one AAC frame, on its way to the RTMP
// writer.
type accessUnit struct {
	tag       []byte   // RTMP: FLV video tag body (AVCC), or audio tag body
	nalus     [][]byte // SRT: the picture's NAL units
	aac       []byte   // SRT: the raw AAC frame
	audio     bool
	asc       []byte // audio: the AudioSpecificConfig it is coded with
	key       bool   // contains an IDR
	dts       time.Duration
	wall      time.Time // when it was handed to the publisher
	sps, pps  []byte    // parameter sets for it, in-band or given with NewSource
	newSource bool      // first unit of a new source
}

// queue sits between the caller and the writer goroutine. Pushing never
// blocks: when the writer falls behind and the queue is full, or its oldest
// unit has waited longer than maxAge (late video is no use to viewers of a
// live stream), everything queued is dropped and so is every later unit up
// to the next keyframe, sound included, so what reaches the server always
// decodes and picture and sound resume together. A new source also waits for a
// keyframe, since the old source's reference pictures are gone.
type queue struct {
	mu      sync.Mutex
	items   []*accessUnit
	spare   []*accessUnit
	max     int
	maxAge  time.Duration
	waitKey bool
	needKey bool // units were dropped waiting for a keyframe
	dropped uint64
	// what dropped units said that the next kept one must carry on
	carrySource        bool
	carrySPS, carryPPS []byte
	wake               chan struct{}
}

func newQueue(max int, maxAge time.Duration) *queue {
	return &queue{max: max, maxAge: maxAge, waitKey: true, wake: make(chan struct{}, 1)}
}

func (q *queue) push(au *accessUnit) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if au.newSource {
		q.waitKey = true
	}
	if len(q.items) >= q.max || len(q.items) > 0 && au.wall.Sub(q.items[0].wall) > q.maxAge {
		q.dropped += uint64(frames(q.items))
		for i, it := range q.items {
			q.fold(it)
			q.items[i] = nil
		}
		q.items = q.items[:0]
		q.waitKey = true
	}
	if q.waitKey && !au.key {
		q.fold(au)
		if !au.audio {
			q.dropped++
			q.needKey = true
		}
		return
	}
	q.waitKey = false
	if q.carrySource {
		au.newSource = true
	}
	if au.sps == nil {
		au.sps, au.pps = q.carrySPS, q.carryPPS
	}
	q.carrySource, q.carrySPS, q.carryPPS = false, nil, nil
	q.items = append(q.items, au)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// frames counts the pictures among us: the counters count pictures.
func frames(us []*accessUnit) int {
	n := 0
	for _, u := range us {
		if !u.audio {
			n++
		}
	}
	return n
}

// fold keeps what a dropped unit says about its source.
func (q *queue) fold(au *accessUnit) {
	if au.newSource {
		q.carrySource = true
	}
	if au.sps != nil {
		q.carrySPS, q.carryPPS = au.sps, au.pps
	}
}

// take returns the queued units (valid until the next take) and whether a
// keyframe is wanted because units were dropped waiting for one.
func (q *queue) take() ([]*accessUnit, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	clear(q.spare) // the writer is done with the previous batch
	q.items = q.spare[:0]
	q.spare = items
	needKey := q.needKey
	q.needKey = false
	return items, needKey
}

// requestKey asks the writer for a keyframe, as a receiver that lost a
// picture does (WebRTC's PLI).
func (q *queue) requestKey() {
	q.mu.Lock()
	q.needKey = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) droppedCount() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}
