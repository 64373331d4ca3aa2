package sandbox

import (
	"fmt"

	"github.com/twig-project/twig/core/protocol"
)

// Kinds of *Error: what the guest (or its module) did wrong.
const (
	KindModule     = "module"      // the module does not compile or is not a twig guest (exports, imports, ABI version)
	KindABI        = "abi"         // the guest misused a host function: bad pointer, handle, request or event
	KindMemory     = "memory"      // the guest ran out of memory at the cap (Config.MemoryLimitPages)
	KindWallTime   = "wall_time"   // the run passed Config.RunTimeout
	KindHostCalls  = "host_calls"  // the run passed Config.MaxHostCalls
	KindEventBytes = "event_bytes" // the run passed Config.MaxEventBytes (or one event passed MaxMessageBytes)
	KindGuest      = "guest"       // the guest trapped, exited, panicked or returned without finishing its stream
)

// Error is a guest the sandbox stopped or refused. Runs return it wrapped in
// an *engine.Error whose code is protocol.CodeGuest (protocol.CodeDeadline
// for KindWallTime), so errors.As finds both.
type Error struct {
	// Kind is one of the Kind constants.
	Kind string
	// Msg says what happened and what to do.
	Msg string
}

func (e *Error) Error() string { return "sandbox: " + e.Msg }

// code is the protocol error code a run stopped by e ends with.
func (e *Error) code() string {
	if e.Kind == KindWallTime {
		return protocol.CodeDeadline
	}
	return protocol.CodeGuest
}

func errorf(kind, format string, a ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, a...)}
}
