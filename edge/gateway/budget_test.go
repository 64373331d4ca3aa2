package gateway

import (
	"context"
	"runtime"
	"testing"
)

// The picture budget serves waiters in arrival order, never lends more than
// its size, and a waiter whose request ends leaves the queue.
func TestBudget(t *testing.T) {
	b := NewBudget(10)
	if err := b.Acquire(context.Background(), 6); err != nil {
		t.Fatal(err)
	}
	got := make(chan int64, 3)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // waits: 6 + 8 > 10
		if err := b.Acquire(context.Background(), 8); err == nil {
			got <- 8
		}
	}()
	waitQueue(t, b, 1)
	go func() { // fits now, but arrived after the 8: waits its turn
		if err := b.Acquire(context.Background(), 2); err == nil {
			got <- 2
		}
	}()
	waitQueue(t, b, 2)
	if used, _ := b.Stats(); used != 6 {
		t.Fatalf("the 2 that fits jumped the queue: used %d", used)
	}
	gone := make(chan error, 1)
	go func() { gone <- b.Acquire(ctx, 9) }()
	waitQueue(t, b, 3)
	cancel()
	if err := <-gone; err == nil {
		t.Fatal("a cancelled waiter got its bytes")
	}
	b.Release(6)
	if a, c := <-got, <-got; a+c != 10 {
		t.Fatalf("served %d and %d, want the 8 and the 2", a, c)
	}
	if used, peak := b.Stats(); used != 10 || peak != 10 {
		t.Fatalf("used %d, peak %d; want 10, 10", used, peak)
	}
	b.Release(8)
	b.Release(2)
	if used, _ := b.Stats(); used != 0 {
		t.Fatalf("used %d after every release", used)
	}
}

// waitQueue waits until n acquires are queued.
func waitQueue(t *testing.T, b *Budget, n int) {
	t.Helper()
	for {
		b.mu.Lock()
		q := len(b.waiters)
		b.mu.Unlock()
		if q == n {
			return
		}
		runtime.Gosched()
	}
}
