// Package broadcast hands values to any number of watchers without ever
// making the sender wait: a watcher that falls behind loses its oldest
// unread values, never holds up the sender or the other watchers. The
// encoder uses it for the mix's meters, and the master to relay them.
package broadcast

import "sync"

// Hub is a broadcaster of T; the zero value is not usable, see New.
type Hub[T any] struct {
	buffer int

	mu       sync.Mutex
	watchers map[chan T]struct{}
}

// New returns a hub whose watchers each keep up to buffer unread values.
func New[T any](buffer int) *Hub[T] {
	return &Hub[T]{buffer: max(buffer, 1), watchers: map[chan T]struct{}{}}
}

// Watch returns a channel of the values published from now on, and the
// function that ends the watch.
func (h *Hub[T]) Watch() (<-chan T, func()) {
	ch := make(chan T, h.buffer)
	h.mu.Lock()
	h.watchers[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.watchers, ch)
		h.mu.Unlock()
	}
}

// Len is how many watch now.
func (h *Hub[T]) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.watchers)
}

// Publish hands v to every watcher; a full watcher drops its oldest value
// for it.
func (h *Hub[T]) Publish(v T) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.watchers {
		select {
		case ch <- v:
			continue
		default:
		}
		select { // full: the hub is the only sender, so one receive makes room
		case <-ch:
		default:
		}
		ch <- v
	}
}
