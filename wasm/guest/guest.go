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
	"sync"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/wasm/abi"
)

// Policy plays one run: engine.Draw, or a function that wraps the backend's
// roles with its own choices of when to think and how to refine.
type Policy func(ctx context.Context, b engine.Backend, spec engine.RunSpec, sink engine.Sink) (engine.Result, error)

var (
	policy  Policy = engine.Draw
	options Options
)

// Serve sets the policy twig_run plays (engine.Draw when never called).
func Serve(p Policy) { policy = p }

// Options say what a policy promises about what the SDK hands it; the zero
// value promises nothing and suits any policy.
type Options struct {
	// Lend: the policy keeps nothing the SDK lends it past the call that
	// lends it — a painted strip's pixels past the painter's callback (nor
	// the strip of a band_progress event past the sink), the run's canvas
	// (Result.Canvas) past the run. The SDK then reads each strip's pixels
	// in the buffer it reads the host's messages into, instead of a new
	// buffer a strip, and gives every run of an instance the same canvas,
	// cleared (engine.CanvasMaker): in the wasm engine guest those
	// allocations and their garbage were a fifth of its time. engine.Draw
	// keeps to it (it copies a strip into its canvas and sends its event
	// at once); a policy that keeps strips or events must not set it.
	Lend bool
	// NoPixels: the policy never reads a strip's pixels or its canvas's.
	// The SDK asks the host to keep them (abi.FlagNoPixels), so that no
	// strip's pixels are copied into the guest, and hands the policy
	// strips whose pixels are placeholders of the right size: with Lend
	// the rows of the run's canvas the strip is painted into (putting it
	// there moves nothing), else zeros. engine.Draw on the SDK's backend
	// reads none: its requests go without the canvas, and run_done's and
	// band_progress's PNGs are the host's.
	NoPixels bool
	// PaintAhead: while a paint call of known rows streams its strips,
	// the policy makes no other role call and stops the call only when
	// its run ends (abi.FlagPaintAhead). The host then paints the band
	// ahead and the policy gets its strips back to back. engine.Draw
	// keeps to it: only an open band's strips go to the decider.
	PaintAhead bool
	// ThinkAhead: the same for a think call whose settings set no thought
	// budget (abi.FlagThinkAhead): the policy makes no other role call
	// while the thought streams and stops it only when its run ends.
	// engine.Draw keeps to it: it stops a thinker only for the budget.
	ThinkAhead bool
}

// flags are the abi.Flag bits twig_flags returns.
func flags() uint32 {
	var f uint32
	if options.NoPixels {
		f |= abi.FlagNoPixels
	}
	if options.PaintAhead {
		f |= abi.FlagPaintAhead
	}
	if options.ThinkAhead {
		f |= abi.FlagThinkAhead
	}
	return f
}

// ServeWith is Serve with options.
func ServeWith(p Policy, o Options) { policy, options = p, o }

// kept is what a run leaves to the next run of its instance: its buffers,
// grown to the sizes a run needs, and with Options.Lend its canvas.
type kept struct {
	msg, req, event []byte
	m               abi.Message // the message being handed on (a local one would escape)
	reader          abi.MessageReader
	canvas          *canvas.Canvas
}

// idle holds the kept state of finished runs: a wasm instance plays one run
// at a time, so one is reused there; natively (tests) runs may overlap.
var idle struct {
	sync.Mutex
	k []*kept
}

func takeKept() *kept {
	idle.Lock()
	defer idle.Unlock()
	if n := len(idle.k); n > 0 {
		k := idle.k[n-1]
		idle.k = idle.k[:n-1]
		return k
	}
	return &kept{}
}

func putKept(k *kept) {
	idle.Lock()
	idle.k = append(idle.k, k)
	idle.Unlock()
}

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
	k := takeKept()
	defer putKept(k)
	b := &backend{h: h, info: in.Backend, lend: options.Lend, kept: k}
	sink := func(ev protocol.Event) error {
		// The host owns the envelope: a binary frame is the payload only.
		// A strip the host painted and the final canvas go without their
		// PNG: the host has their pixels and encodes it natively.
		var data []byte
		var ok bool
		if b.hostPNG(ev.Payload) {
			data, ok = abi.AppendEventNoPNG(k.event[:0], ev.Payload)
		} else {
			data, ok = abi.AppendEvent(k.event[:0], ev.Payload)
		}
		if !ok { // a type without an event code: JSON
			var err error
			if data, err = ev.MarshalJSON(); err != nil {
				return err
			}
		}
		k.event = data[:0]
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
