package decode

import "testing"

// Sound a malformed file stamps before the timeline's start is dropped,
// and what follows it still plays from sample 0 (it used to index the
// ring with a negative number and crash the player).
func TestRingDropsSoundBeforeTheStart(t *testing.T) {
	var r ring
	r.init()
	samples := make([]float32, 2*20)
	for i := range samples {
		samples[i] = float32(i/2 + 1)
	}
	r.write(-10, samples) // samples -10 to 9
	got := make([]float32, 2*12)
	if !r.read(got, 0) {
		t.Fatal("nothing held from sample 0")
	}
	for i := 0; i < 12; i++ {
		want := float32(0)
		if i < 10 {
			want = float32(i + 11)
		}
		if got[2*i] != want || got[2*i+1] != want {
			t.Fatalf("sample %d: %v, %v, want %v", i, got[2*i], got[2*i+1], want)
		}
	}
	r.write(-100, samples) // wholly before the start: nothing to keep
	r.read(got, 0)
	if got[0] != 11 {
		t.Errorf("sample 0 is %v after sound wholly before the start, want it kept at 11", got[0])
	}
}
