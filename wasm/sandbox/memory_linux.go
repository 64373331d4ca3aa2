package sandbox

import (
	"sync"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// Guest memory on Linux: each instance's linear memory is a mapping of its
// own, reserved up front at the maximum (Config.MemoryLimitPages) as address
// space only, so memory.grow never copies. Mappings are pooled: a fresh
// mapping page-faults on every first touch, and in a virtual machine those
// faults cost more than the guest's whole run. A returned mapping is zeroed
// up to the length the guest used before it is reused (on a goroutine of its
// own, after the run), so nothing of one run is visible to the next.

// Pool bounds: mappings kept for reuse, and the most a kept mapping may have
// used (a bigger one is unmapped instead of zeroed).
const (
	poolMappings = 16
	poolMaxUsed  = 32 << 20
)

type mmapMemory struct {
	buf  []byte // the whole mapping
	used int    // the longest length handed out
}

var pool struct {
	sync.Mutex
	free []*mmapMemory
}

// allocator is the memory allocator of guest instances.
var allocator experimental.MemoryAllocator = experimental.MemoryAllocatorFunc(
	func(_, max uint64) experimental.LinearMemory {
		pool.Lock()
		for i := len(pool.free) - 1; i >= 0; i-- {
			if m := pool.free[i]; uint64(len(m.buf)) == max {
				pool.free = append(pool.free[:i], pool.free[i+1:]...)
				pool.Unlock()
				return m
			}
		}
		pool.Unlock()
		b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
			syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
		if err != nil {
			return &sliceMemory{}
		}
		return &mmapMemory{buf: b}
	})

func (m *mmapMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	m.used = max(m.used, int(size))
	return m.buf[:size:size]
}

// Free zeroes the mapping off the run's path and keeps it for the next
// instance (unmapping the oldest kept one when the pool is full), or unmaps
// it when the guest used much.
func (m *mmapMemory) Free() {
	if m.used > poolMaxUsed {
		_ = syscall.Munmap(m.buf)
		return
	}
	go func() {
		clear(m.buf[:m.used])
		m.used = 0
		pool.Lock()
		defer pool.Unlock()
		if len(pool.free) == poolMappings { // full: the oldest goes
			_ = syscall.Munmap(pool.free[0].buf)
			pool.free = append(pool.free[:0], pool.free[1:]...)
		}
		pool.free = append(pool.free, m)
	}()
}
