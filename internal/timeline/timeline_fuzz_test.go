package timeline

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzTimeline drives a timeline in milliseconds (RTMP) or 90 kHz ticks
// (recordings) with arbitrary sequences of source timestamps, arrival times
// and new-source marks. Run it with:
//
//	go test -run '^$' -fuzz '^FuzzTimeline$' -fuzztime 20s ./internal/timeline
//
// Each step of the input is 8 bytes: a flags byte (bit 0: a new source
// begins before this frame), a signed 32-bit DTS step in microseconds (one
// step in eight is scaled by 2^10 so that jumps of days and clocks that
// start over far back happen too), and a 24-bit arrival step in
// microseconds (arrivals never go back: they are monotonic clock readings).
//
// Whatever the sequence: the first output is the start; every output is
// strictly greater than the one before; Last is the last output; within one
// source (no mark, DTS not back, forward at most MaxSourceJump) the output
// advances by the DTS step, give or take the rounding to ticks, or by 1 tick
// when that would not advance it; and where a new source begins (a mark, a
// DTS step back or a jump over MaxSourceJump) the output advances by the
// arrival gap, at least one frame interval, and at least 1 tick.
func FuzzTimeline(f *testing.F) {
	step := func(mark bool, dtsMicros int32, wallMicros uint32) []byte {
		b := []byte{0}
		if mark {
			b[0] = 1
		}
		b = binary.BigEndian.AppendUint32(b, uint32(dtsMicros))
		return append(b, byte(wallMicros>>16), byte(wallMicros>>8), byte(wallMicros))
	}
	frames := func(n int, dts int32, wall uint32) []byte {
		var b []byte
		for range n {
			b = append(b, step(false, dts, wall)...)
		}
		return b
	}
	const frameUs = 33333
	restart := append(frames(30, frameUs, frameUs), step(true, -1_000_000, 400_000)...)
	restart = append(restart, frames(30, frameUs, frameUs)...)
	f.Add(int64(0), int64(0), []byte(nil))
	f.Add(int64(16777216-5000), int64(7*time.Hour), restart)
	f.Add(int64(0), int64(0), frames(5, 0, 0))                                            // same DTS, same arrival
	f.Add(int64(1000), int64(time.Second), frames(5, 100, 10))                            // sub-millisecond steps
	f.Add(int64(0), int64(0), append(frames(3, frameUs, frameUs), step(false, -5, 1)...)) // a step back
	f.Add(int64(5), int64(-time.Hour), append(frames(3, frameUs, frameUs), step(false, 11_000_000, 11_000_000)...))
	f.Add(int64(1<<33), int64(1<<50), append(step(true, 0, 0), step(true, 0, 1)...))
	f.Add(int64(0), int64(0), []byte{0xff, 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xf8, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0})
	f.Fuzz(func(t *testing.T, startMs, firstDTS int64, steps []byte) {
		rate := int64(1000)
		if startMs%2 != 0 {
			rate = 90000
		}
		// Realistic ranges, so that no sum overflows int64 nanoseconds:
		// sessions that start within 34 years, source clocks within
		// ±13 days (fuzzed steps may move them up to ±9 years).
		start := time.Duration(startMs%(1<<40)) * time.Millisecond
		if start < 0 {
			start = -start
		}
		dts := time.Duration(firstDTS % (1 << 50))
		wall := time.Unix(1_700_000_000, 0)
		tl := New(start, rate)
		var (
			last     int64
			lastDTS  time.Duration
			lastWall time.Time
			frameDur = tl.Ticks(time.Second / 30)
		)
		for i := 0; i == 0 || len(steps) >= 8; i++ {
			mark := false
			if i > 0 {
				s := steps[:8]
				steps = steps[8:]
				mark = s[0]&1 == 1
				d := time.Duration(int32(binary.BigEndian.Uint32(s[1:5]))) * time.Microsecond
				if s[0]&0x0e == 0x0e {
					d <<= 10
				}
				if dts+d > 1<<58 || dts+d < -1<<58 {
					return // beyond any real clock; keeps sums inside int64
				}
				dts += d
				wall = wall.Add(time.Duration(uint32(s[5])<<16|uint32(s[6])<<8|uint32(s[7])) * time.Microsecond)
				if mark {
					tl.NewSource()
				}
			}
			out := tl.Stamp(dts, wall)
			if got := tl.Last(); got != out {
				t.Fatalf("frame %d: Last %d after stamping %d", i, got, out)
			}
			if i == 0 {
				if out != tl.Ticks(start) {
					t.Fatalf("first timestamp %d, want the start %d", out, tl.Ticks(start))
				}
			} else {
				step := out - last
				if step < 1 {
					t.Fatalf("frame %d: %d after %d, not increasing", i, out, last)
				}
				d := dts - lastDTS
				dt := tl.Ticks(dts) - tl.Ticks(lastDTS)
				switch newSource := mark || dt < 0 || dt > tl.Ticks(MaxSourceJump); {
				case newSource:
					want := max(tl.Ticks(wall.Sub(lastWall)), frameDur)
					if want < 1 {
						want = 1
					}
					if step != want {
						t.Fatalf("frame %d begins a new source %v after the last frame: step %d, want %d",
							i, wall.Sub(lastWall), step, want)
					}
				default:
					if step > max(dt, 1) {
						t.Fatalf("frame %d: DTS step %v (%d ticks) became %d", i, d, dt, step)
					}
					if dt > 0 && dt <= tl.Ticks(250*time.Millisecond) {
						frameDur = dt
					}
				}
			}
			last, lastDTS, lastWall = out, dts, wall
		}
	})
}
