//go:build !linux

package sandbox

import "github.com/tetratelabs/wazero/experimental"

// allocator is nil off Linux: wazero's own slice-backed memory.
var allocator experimental.MemoryAllocator
