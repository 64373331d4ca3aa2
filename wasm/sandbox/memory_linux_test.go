package sandbox

import (
	"testing"
	"time"
)

// TestPooledMemoryIsZeroed: a mapping handed out again is all zeros, what
// ever the guest before wrote.
func TestPooledMemoryIsZeroed(t *testing.T) {
	const max = 1 << 20 // a size no instance uses: only this test's mappings have it
	// Other tests free mappings at the same time, and a full pool unmaps its
	// oldest, so the mapping that comes back may not be the first one freed:
	// every mapping this test dirtied must come back zeroed.
	dirtied := map[*mmapMemory]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := allocator.Allocate(0, max)
		mm, ok := m.(*mmapMemory)
		if !ok {
			t.Skip("mmap unavailable: the allocator fell back to slices")
		}
		if dirtied[mm] {
			for i, c := range m.Reallocate(max) {
				if c != 0 {
					t.Fatalf("byte %d of a reused mapping is %#x", i, c)
				}
			}
			m.Free()
			return
		}
		b := m.Reallocate(64 << 10)
		for i := range b {
			b[i] = 0xa5
		}
		dirtied[mm] = true
		m.Free()
		if time.Now().After(deadline) {
			t.Fatal("no mapping ever came back to the pool")
		}
		time.Sleep(time.Millisecond)
	}
}
