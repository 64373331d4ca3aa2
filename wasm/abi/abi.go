// Package abi is twig's sandbox ABI: the names, numbers and JSON messages a
// guest module and the wazero host (package sandbox) agree on. It is plain
// Go with no dependency on wazero, so the Go guest SDK (package guest) and the
// host share one definition. docs/SANDBOX.md describes the same ABI for
// guests written in other languages.
//
// In short: the host calls twig_alloc to place a RunInput (JSON) in guest
// memory and calls twig_run once. The guest plays the run: it asks the host's
// model for each role through role_call / role_next / role_read, and sends
// every event of the run through emit_event. The host never calls into the
// guest while the guest is inside a host call, so a guest needs no
// re-entrancy, and each import returns a single i32.
package abi

import "github.com/twig-project/twig/core/engine"

// Version is the ABI version this build speaks; a guest's twig_abi_version
// export must return it.
const Version = 1

// ImportModule is the wasm module name of the host functions.
const ImportModule = "twig"

// Host functions (imports of module ImportModule). Pointers and lengths are
// i32 offsets and byte counts into the guest's exported memory.
const (
	// emit_event(ptr, len i32) i32 sends one event (a protocol JSON line
	// without the newline). It returns StatusOK, or StatusRefused when the
	// event consumer stopped the run: the guest then emits nothing more and
	// returns from twig_run.
	FuncEmitEvent = "emit_event"
	// role_call(role, ptr, len i32) i32 starts a call of a role with a JSON
	// request and returns the call's handle (≥ 1). Nothing runs until the
	// first role_next.
	FuncRoleCall = "role_call"
	// role_next(call, cancel i32) i32 lets the call run to its next message
	// and returns the message's length in bytes. cancel = 1 first cancels
	// the call's context (the role then ends soon, with a done or error
	// message). The message after a delta, set_end or row is only produced
	// once the guest has handled that one: role_next is also the ack.
	FuncRoleNext = "role_next"
	// role_read(call, ptr, len i32) i32 copies the message role_next
	// announced into guest memory; len must be its length. It returns len.
	// After a done or error message the handle is closed.
	FuncRoleRead = "role_read"
)

// Guest exports.
const (
	// ExportVersion: twig_abi_version() i32 returns Version.
	ExportVersion = "twig_abi_version"
	// ExportAlloc: twig_alloc(size i32) i32 returns size bytes of guest
	// memory the host may write (0 when it cannot). The buffer belongs to
	// the guest again once it is passed to twig_run.
	ExportAlloc = "twig_alloc"
	// ExportRun: twig_run(ptr, len i32) i32 plays the run whose RunInput
	// JSON is at ptr and returns a RunStatus.
	ExportRun = "twig_run"
	// ExportMemory is the guest's linear memory.
	ExportMemory = "memory"
	// ExportInitialize, when exported, is called once after instantiation
	// (a WASI reactor's initializer).
	ExportInitialize = "_initialize"
)

// Statuses returned by emit_event.
const (
	StatusOK      = 0 // delivered
	StatusRefused = 1 // the consumer stopped the run: emit nothing more, return
)

// Run statuses returned by twig_run.
const (
	RunOK     = 0 // the run finished: its last event was run_done
	RunFailed = 1 // the run failed: its last event was error (or the consumer refused an event)
	// Anything else is the guest's own failure; the host reports it.
)

// Roles, the first argument of role_call. A role's request is the engine's
// request type as JSON (engine.ThinkRequest, engine.PaintRequest,
// engine.CritiqueRequest, engine.DecideRequest). Its "canvas" may be left
// out (or null): the host then uses the canvas as the run's events so far
// describe it (band_progress rows, band_redrawn clears), which is what the
// engine's own requests carry; it saves the guest encoding 256 tokens a call.
const (
	// RoleStart opens the run's model state; request: engine.RunSpec with
	// Settings.Bands resolved and Seed equal to Settings.Seed. Once per run,
	// before any other call. Its done message lists the roles the backend has.
	RoleStart = 0
	// RoleThink: request engine.ThinkRequest; delta and set_end messages, then done with Text.
	RoleThink = 1
	// RolePaint: request engine.PaintRequest; one row message per row, then done.
	RolePaint = 2
	// RoleCritique: request engine.CritiqueRequest; done with Critique.
	RoleCritique = 3
	// RoleDecide: request engine.DecideRequest; done with Think and Probability.
	RoleDecide = 4
)

// RoleName names a role for messages.
func RoleName(role int) string {
	switch role {
	case RoleStart:
		return "start"
	case RoleThink:
		return "think"
	case RolePaint:
		return "paint"
	case RoleCritique:
		return "critique"
	case RoleDecide:
		return "decide"
	}
	return "unknown"
}

// RunInput is what the host passes to twig_run.
type RunInput struct {
	// ABI is Version.
	ABI int `json:"abi"`
	// Spec is the run asked for. RunID is always set.
	Spec engine.RunSpec `json:"spec"`
	// Backend describes the host's model.
	Backend BackendInfo `json:"backend"`
}

// BackendInfo describes the host's backend.
type BackendInfo struct {
	// Name is recorded in run_started ("" when the backend has none).
	Name string `json:"name,omitempty"`
	// DefaultBands is the number of bands used when Settings.Bands is 0.
	DefaultBands int `json:"default_bands"`
}

// Message types (Message.Type).
const (
	MsgDelta  = "delta"   // a thought token (RoleThink)
	MsgSetEnd = "set_end" // the thinker ends an open-ended band at End (RoleThink)
	MsgRow    = "row"     // one painted row (RolePaint)
	MsgDone   = "done"    // the call's result; the call is over
	MsgError  = "error"   // the role failed; the call is over
)

// Message is one message of a role call, host to guest.
type Message struct {
	// Type is one of the Msg constants.
	Type string `json:"type"`
	// Text is a delta's text, or a think call's whole thought (done).
	Text string `json:"text,omitempty"`
	// End is the end row of set_end.
	End int `json:"end,omitempty"`
	// Row is a row message's canvas row.
	Row int `json:"row,omitempty"`
	// Tokens are a row message's image tokens.
	Tokens []int `json:"tokens,omitempty"`
	// Critique is a critique call's result (done).
	Critique *engine.Critique `json:"critique,omitempty"`
	// Think and Probability are a decide call's result (done).
	Think       bool    `json:"think,omitempty"`
	Probability float64 `json:"probability,omitempty"`
	// Roles are the roles the backend has (done of RoleStart).
	Roles *Roles `json:"roles,omitempty"`
	// Message says why the role failed (error).
	Message string `json:"message,omitempty"`
}

// Roles lists which roles a run has.
type Roles struct {
	Thinker bool `json:"thinker"`
	Painter bool `json:"painter"`
	Critic  bool `json:"critic"`
	Decider bool `json:"decider"`
}
