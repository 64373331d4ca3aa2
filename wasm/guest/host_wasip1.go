//go:build wasip1

package guest

import (
	"runtime"
	"unsafe"

	"github.com/twig-project/twig/wasm/abi"
)

//go:wasmimport twig emit_event
func hostEmitEvent(ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport twig role_call
func hostRoleCall(role uint32, ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport twig role_next
func hostRoleNext(call uint32, cancel uint32) uint32

//go:wasmimport twig role_read
func hostRoleRead(call uint32, ptr unsafe.Pointer, n uint32) uint32

// wasmHost is the Host of a guest running in the sandbox.
type wasmHost struct{}

func ptr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

func (wasmHost) EmitEvent(ev []byte) uint32 {
	s := hostEmitEvent(ptr(ev), uint32(len(ev)))
	runtime.KeepAlive(ev)
	return s
}

func (wasmHost) RoleCall(role uint32, req []byte) uint32 {
	id := hostRoleCall(role, ptr(req), uint32(len(req)))
	runtime.KeepAlive(req)
	return id
}

func (wasmHost) RoleNext(call uint32, cancel bool) uint32 {
	c := uint32(0)
	if cancel {
		c = 1
	}
	return hostRoleNext(call, c)
}

func (wasmHost) RoleRead(call uint32, buf []byte) uint32 {
	n := hostRoleRead(call, ptr(buf), uint32(len(buf)))
	runtime.KeepAlive(buf)
	return n
}

// A run's calls nest deeper than start-up's, and growing a goroutine's stack
// copies it frame by frame, which in wasm cost a run about as much as
// decoding all its messages. twig_run runs on the goroutine that ran the
// initializers, so its stack is grown here, once, at instantiation (which
// the host does ahead of the run for the engine guest): nothing shrinks it
// before the run, as no garbage collection happens in between.
func init() { growStack(0) }

// growStack needs a frame of stackFrame bytes, so the stack is at least twice that.
//
//go:noinline
func growStack(n byte) byte {
	var frame [stackFrame]byte
	frame[n] = n
	return frame[n] + frame[stackFrame-1]
}

const stackFrame = 64 << 10

// allocs keeps the buffers handed to the host alive until twig_run takes them.
var allocs = map[uint32][]byte{}

//go:wasmexport twig_abi_version
func twigABIVersion() uint32 { return abi.Version }

//go:wasmexport twig_flags
func twigFlags() uint32 { return flags() }

//go:wasmexport twig_alloc
func twigAlloc(size uint32) uint32 {
	b := make([]byte, max(size, 1))
	p := uint32(uintptr(ptr(b)))
	allocs[p] = b
	return p
}

//go:wasmexport twig_run
func twigRun(p, n uint32) uint32 {
	b, ok := allocs[p]
	delete(allocs, p)
	if !ok || uint32(len(b)) < n {
		return 2
	}
	return play(wasmHost{}, b[:n])
}
