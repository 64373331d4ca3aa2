// Package guest is the Go side of twig's sandbox ABI (package abi): it turns
// a Go program built with GOOS=wasip1 -buildmode=c-shared into a twig guest.
// The guest plays a Policy — engine.Draw itself, or any function of its shape
// — on a Backend whose roles are the host's model, reached through the
// host functions, and sends the run's events to the host.
//
// A guest's main package registers its policy in an init function:
//
//	func init() { guest.Serve(engine.Draw) }
//	func main() {}
//
// Built for any other GOOS (tests), the same code runs against a Host given
// to Run.
package guest

import (
	"context"
	"errors"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/wasm/abi"
)

// Policy plays one run: engine.Draw, or a function that wraps the backend's
// roles with its own choices of when to think and how to refine.
type Policy func(ctx context.Context, b engine.Backend, spec engine.RunSpec, sink engine.Sink) (engine.Result, error)

var policy Policy = engine.Draw

// Serve sets the policy twig_run plays (engine.Draw when never called).
func Serve(p Policy) { policy = p }

// Host is the ABI's host functions, as the guest sees them.
type Host interface {
	// EmitEvent sends one event line; it returns abi.StatusOK or abi.StatusRefused.
	EmitEvent(event []byte) uint32
	// RoleCall starts a role call and returns its handle.
	RoleCall(role uint32, req []byte) uint32
	// RoleNext runs the call to its next message and returns its length.
	RoleNext(call uint32, cancel bool) uint32
	// RoleRead copies the announced message into buf (exactly its length).
	RoleRead(call uint32, buf []byte) uint32
}

// errRefused stops the policy when the host's consumer refused an event.
var errRefused = errors.New("guest: the host refused an event")

// play is twig_run: decode the input, play the policy, report how it ended.
func play(h Host, input []byte) uint32 {
	var in abi.RunInput
	if err := abi.DecodeInput(input, &in); err != nil || in.ABI != abi.Version {
		return 2
	}
	b := &backend{h: h, info: in.Backend}
	var buf []byte
	sink := func(ev protocol.Event) error {
		// The host owns the envelope: a binary frame is the payload only.
		// A strip the host painted and the final canvas go without their
		// PNG: the host has their pixels and encodes it natively.
		var data []byte
		var ok bool
		if b.hostPNG(ev.Payload) {
			data, ok = abi.AppendEventNoPNG(buf[:0], ev.Payload)
		} else {
			data, ok = abi.AppendEvent(buf[:0], ev.Payload)
		}
		if !ok { // a type without an event code: JSON
			var err error
			if data, err = ev.MarshalJSON(); err != nil {
				return err
			}
		}
		buf = data[:0]
		if h.EmitEvent(data) != abi.StatusOK {
			return errRefused
		}
		return nil
	}
	if _, err := policy(context.Background(), b, in.Spec, sink); err != nil {
		return abi.RunFailed
	}
	return abi.RunOK
}
