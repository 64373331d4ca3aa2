package gateway

import (
	"context"
	"sync"
)

// Budget is a weighted semaphore of bytes: decodes of client pictures take
// their estimated memory from it before they start and give it back when
// their picture is no longer needed, so that however many requests arrive
// at once, the pictures being decoded never hold more than its size.
// Waiters are served in arrival order (a big picture is not starved by a
// stream of small ones).
type Budget struct {
	mu      sync.Mutex
	size    int64
	used    int64
	peak    int64
	waiters []*waiter
}

type waiter struct {
	n     int64
	ready chan struct{}
}

// NewBudget returns a budget of size bytes.
func NewBudget(size int64) *Budget { return &Budget{size: size} }

// Acquire takes n bytes (n ≤ size), waiting until they are free or ctx ends.
func (b *Budget) Acquire(ctx context.Context, n int64) error {
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.size {
		b.take(n)
		b.mu.Unlock()
		return nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.mu.Unlock()
			b.Release(n)
		default:
			for i, x := range b.waiters {
				if x == w {
					b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
					break
				}
			}
			b.grant() // the head may have changed
			b.mu.Unlock()
		}
		return ctx.Err()
	}
}

// Release gives back n bytes.
func (b *Budget) Release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.grant()
	b.mu.Unlock()
}

// grant wakes the waiters at the head of the queue that now fit.
func (b *Budget) grant() {
	for len(b.waiters) > 0 && b.used+b.waiters[0].n <= b.size {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.take(w.n)
		close(w.ready)
	}
}

func (b *Budget) take(n int64) {
	b.used += n
	b.peak = max(b.peak, b.used)
}

// Stats returns the bytes in use and the most ever in use at once.
func (b *Budget) Stats() (used, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.peak
}
