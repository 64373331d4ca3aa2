package sandbox

import (
	"testing"
	"time"
)

// TestPooledMemoryIsZeroed: a mapping handed out again is all zeros, what
// ever the guest before wrote.
func TestPooledMemoryIsZeroed(t *testing.T) {
	const max = 1 << 20 // a size no instance uses: the pool hands this one back
	m := allocator.Allocate(0, max)
	b := m.Reallocate(64 << 10)
	for i := range b {
		b[i] = 0xa5
	}
	m.Free()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m2 := allocator.Allocate(0, max)
		if m2.(*mmapMemory) == m.(*mmapMemory) {
			for i, c := range m2.Reallocate(max) {
				if c != 0 {
					t.Fatalf("byte %d of a reused mapping is %#x", i, c)
				}
			}
			m2.Free()
			return
		}
		m2.Free()
		if time.Now().After(deadline) {
			t.Fatal("the mapping never came back to the pool")
		}
		time.Sleep(time.Millisecond)
	}
}
