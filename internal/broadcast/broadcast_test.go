package broadcast

import "testing"

// A watcher that reads nothing keeps the newest values and never blocks
// the sender; another watcher gets everything it has room for.
func TestSlowWatcherKeepsTheNewest(t *testing.T) {
	h := New[int](2)
	slow, _ := h.Watch()
	fast, stop := h.Watch()
	for i := 1; i <= 5; i++ {
		h.Publish(i)
		if got := <-fast; got != i {
			t.Fatalf("fast watcher got %d, want %d", got, i)
		}
	}
	if a, b := <-slow, <-slow; a != 4 || b != 5 {
		t.Fatalf("slow watcher kept %d and %d, want 4 and 5", a, b)
	}
	stop()
	h.Publish(6) // no one reads fast any more: this must not block
	if len(fast) != 0 {
		t.Fatal("a value reached a watcher after it stopped watching")
	}
}
