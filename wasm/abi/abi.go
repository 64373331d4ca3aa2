// Package abi is twig's sandbox ABI: the names, numbers and messages a
// guest module and the wazero host (package sandbox) agree on. It is plain
// Go with no dependency on wazero, so the Go guest SDK (package guest) and the
// host share one definition. docs/SANDBOX.md describes the same ABI for
// guests written in other languages.
//
// In short: the host calls twig_alloc to place a RunInput in guest
// memory and calls twig_run once. The guest plays the run: it asks the host's
// model for each role through role_call / role_next / role_read, and sends
// every event of the run through emit_event. The host never calls into the
// guest while the guest is inside a host call, so a guest needs no
// re-entrancy, and each import returns a single i32.
package abi

import (
	"errors"
	"fmt"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// Version is the ABI version this build's guest SDK speaks; a guest's
// twig_abi_version export returns it (or Version1).
//
// ABI 2 is ABI 1 with every message in a compact binary framing (frame.go)
// instead of JSON: the RunInput, role requests and role messages, and
// events (which may still be JSON, for a type without an event code). The
// imports, exports, statuses and the messages' meaning are the same.
//
// ABI 3 is ABI 2 whose review result frame ends with the thinker's p_ok
// (float64), so plan reviews carry the same probability sandboxed as
// natively. Frames are positional, so an ABI 2 guest is refused with an
// error that says to rebuild it; ABI 1 guests still play.
const Version = 3

// Version1 is the first ABI, all JSON; the host still plays its guests.
const Version1 = 1

// ImportModule is the wasm module name of the host functions.
const ImportModule = "twig"

// Host functions (imports of module ImportModule). Pointers and lengths are
// i32 offsets and byte counts into the guest's exported memory.
const (
	// emit_event(ptr, len i32) i32 sends one event: a binary event frame
	// (ABI 2, AppendEvent), or a protocol JSON line without the newline.
	// It returns StatusOK, or StatusRefused when the event consumer
	// stopped the run: the guest then emits nothing more and returns from
	// twig_run.
	FuncEmitEvent = "emit_event"
	// role_call(role, ptr, len i32) i32 starts a call of a role with a
	// request (ABI 2: AppendRequest or AppendSpec; ABI 1: JSON) and
	// returns the call's handle (≥ 1). Nothing runs until the first
	// role_next.
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
	// (ABI 2: AppendInput; ABI 1: JSON) is at ptr and returns a RunStatus.
	ExportRun = "twig_run"
	// ExportMemory is the guest's linear memory.
	ExportMemory = "memory"
	// ExportInitialize, when exported, is called once after instantiation
	// (a WASI reactor's initializer).
	ExportInitialize = "_initialize"
	// ExportFlags, when exported: twig_flags() i32 returns the Flag bits
	// the guest asks for (none when it is not exported). The host calls
	// it once before the run and refuses a bit it does not know.
	ExportFlags = "twig_flags"
)

// Flags a guest may ask for (ExportFlags).
const (
	// FlagNoPixels: strip messages come without their pixels (and without
	// a PNG): the guest never reads a strip's pixels, so the host keeps
	// them (its fold of the guest's events, the band_progress and
	// run_done PNGs, the canvas of requests without one are the host's
	// anyway). A strip is then its rows and tokens; the twig engine guest
	// asks for it, where each run's half megabyte of pixels was copied
	// twice on the host and read again in wasm for a canvas nothing read.
	FlagNoPixels = 1 << 0
	// FlagPaintAhead: while a paint call of known rows (the request's
	// rows end ≥ 0) streams its strips, the guest makes no other role call
	// and stops the call only to end its run (an error, a refused event).
	// The host then paints the whole band at the first role_next and
	// hands the strips over one by one: the guest handles them back to
	// back, where between two strips the model's work had left its code
	// and data out of the caches. The call order the model sees is the
	// same. The twig engine guest asks for it: an open band's strips go
	// to the decider, a known band's are only checked, put and sent.
	FlagPaintAhead = 1 << 1
	// FlagThinkAhead: the same for a think call whose request's settings
	// set no thought budget (max_thought_tokens 0): the guest makes no
	// other role call while its thought streams and stops it only to end
	// its run. The host runs the thinker to its end at the first
	// role_next. (With a budget the twig engine stops the thinker when
	// the budget is spent, which a thinker run ahead would have passed.)
	FlagThinkAhead = 1 << 2
	// KnownFlags are the flags this ABI defines.
	KnownFlags = FlagNoPixels | FlagPaintAhead | FlagThinkAhead
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

// Roles, the first argument of role_call. A role's request is a call's
// request (protocol.CallRequest, what the engine's request types encode
// to), checked by the one role-call validator (rolecall.Decode) and played
// by rolecall.Play, as the gateway's calls are. Its "canvas" and
// "canvas_png" may be left out: the host then uses the canvas as the run's
// events so far describe it (band_progress strips, band_redrawn clears),
// which is what the engine's own requests carry; it saves the guest
// encoding the canvas every call.
const (
	// RoleStart opens the run's model state; request: engine.RunSpec with
	// Settings.Bands resolved and Seed equal to Settings.Seed. Once per run,
	// before any other call. Its done message lists the roles the backend has.
	RoleStart = 0
	// RoleThink: request engine.ThinkRequest; delta and set_end messages, then done with Text.
	RoleThink = 1
	// RolePaint: request engine.PaintRequest; one strip message per painted
	// strip (twig/2; one row message per token row in twig/1), then done.
	RolePaint = 2
	// RoleCritique: request engine.CritiqueRequest; done with Critique.
	RoleCritique = 3
	// RoleDecide: request engine.DecideRequest; done with Think and Probability.
	RoleDecide = 4
	// RoleReview: request engine.ReviewRequest; done with Review. Only when
	// the start's done message lists the reviewer role.
	RoleReview = 5
)

// roleNames are the roles' protocol names (protocol.Role*), by number.
var roleNames = [...]string{RoleStart: "start", RoleThink: protocol.RoleThink, RolePaint: protocol.RolePaint,
	RoleCritique: protocol.RoleCritique, RoleDecide: protocol.RoleDecide, RoleReview: protocol.RoleReview}

// RoleName names a role: its protocol call role, or "start" or "unknown".
func RoleName(role int) string {
	if role < 0 || role >= len(roleNames) {
		return "unknown"
	}
	return roleNames[role]
}

// RoleOf is the number of a protocol call role, or -1.
func RoleOf(name string) int {
	for i, n := range roleNames {
		if i != RoleStart && n == name {
			return i
		}
	}
	return -1
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
	MsgSetEnd = "set_end" // the thinker ended an open-ended band at End (RoleThink, just before done)
	MsgRow    = "row"     // one painted token row (RolePaint, twig/1)
	MsgStrip  = "strip"   // one painted strip of pixel rows (RolePaint, twig/2)
	MsgDone   = "done"    // the call's result; the call is over
	MsgError  = "error"   // the role failed; the call is over
)

// Message is one message of a role call, host to guest (a frame of
// AppendMessage in ABI 2, JSON in ABI 1).
type Message struct {
	// Type is one of the Msg constants.
	Type string `json:"type"`
	// Text is a delta's text, or a think call's whole thought (done).
	Text string `json:"text,omitempty"`
	// End is the end row of set_end.
	End int `json:"end,omitempty"`
	// Row is a row message's canvas row.
	Row int `json:"row,omitempty"`
	// Tokens are a row message's image tokens, or a strip's token rows
	// when a token model painted it.
	Tokens []int `json:"tokens,omitempty"`
	// Rows are a strip message's pixel rows.
	Rows *protocol.Rows `json:"rows,omitempty"`
	// PNG is a strip message's pixels: the base64 PNG of exactly Rows, as
	// twig/2's call_strip carries it.
	PNG string `json:"png,omitempty"`
	// Pix are a strip message's pixels decoded (RGBA, 4 bytes a pixel,
	// row by row), which the host sends beside the PNG so that the guest
	// need not decode it (ABI 2; empty when the host did not decode it).
	Pix []byte `json:"-"`
	// Critique is a critique call's result (done).
	Critique *protocol.CritiqueResult `json:"critique,omitempty"`
	// Review is a review call's result (done).
	Review *protocol.ReviewResult `json:"review,omitempty"`
	// Think and Probability are a decide call's result (done).
	Think       bool    `json:"think,omitempty"`
	Probability float64 `json:"probability,omitempty"`
	// Roles are the roles the backend has (done of RoleStart).
	Roles *Roles `json:"roles,omitempty"`
	// Message says why the role failed (error).
	Message string `json:"message,omitempty"`
	// Code is an error's protocol code when the run reports the failure as
	// such: invalid_request when the backend refused the run's prompt (an
	// *engine.PromptError at start, e.g. the embedded model's unknown
	// words), so that a sandboxed run fails as a native one does; empty
	// otherwise.
	Code string `json:"code,omitempty"`
}

// Roles lists which roles a run has.
type Roles struct {
	Thinker bool `json:"thinker"`
	Painter bool `json:"painter"`
	Critic  bool `json:"critic"`
	Decider bool `json:"decider"`
	// Reviewer: the thinker reviews its plans (RoleReview may be called).
	Reviewer bool `json:"reviewer,omitempty"`
}

// The messages are a compact framing of a call's stream: delta is
// call_delta, row is call_row (twig/1), strip is call_strip (twig/2),
// set_end and done are call_done (set_end carries the think result's
// end_row), error is error. These two functions are the whole mapping, one
// for each side.

// StreamMessage is the message of a call's stream element p (a
// *protocol.CallDelta, *protocol.CallRow or *protocol.CallStrip): the
// host's side of the mapping, with DoneMessages.
func StreamMessage(p protocol.Payload) Message {
	switch p := p.(type) {
	case *protocol.CallDelta:
		return Message{Type: MsgDelta, Text: p.Text}
	case *protocol.CallRow:
		return Message{Type: MsgRow, Row: p.Row, Tokens: p.Tokens}
	case *protocol.CallStrip:
		rows := p.Rows
		return Message{Type: MsgStrip, Rows: &rows, PNG: p.PNG, Tokens: p.Tokens}
	}
	panic(fmt.Sprintf("BUG: abi: %T is not a call stream payload", p))
}

// DoneMessages are the messages that end a call with d: set_end first when
// a thinker ended an open-ended band, then done.
func DoneMessages(d *protocol.CallDone) []Message {
	m := Message{Type: MsgDone}
	var out []Message
	switch {
	case d.Thought != nil:
		m.Text = d.Thought.Text
		if d.Thought.EndRow != 0 {
			out = append(out, Message{Type: MsgSetEnd, End: d.Thought.EndRow})
		}
	case d.Critique != nil:
		m.Critique = d.Critique
	case d.Decision != nil:
		m.Think, m.Probability = d.Decision.Think, d.Decision.Probability
	case d.Review != nil:
		m.Review = d.Review
	}
	return append(out, m)
}

// Call collects a role call's messages as protocol payloads: the guest's
// side of the mapping. Add each message in turn; for delta, row and strip
// it returns the payload to stream, for done the call_done (Done), and for
// error the error.
type Call struct {
	// Role is the call's protocol role.
	Role string
	end  int
	done *protocol.CallDone
	// The stream payloads Add returns, reused: in a wasm guest an
	// allocation per token costs more than the rest of its handling.
	delta protocol.CallDelta
	row   protocol.CallRow
	strip protocol.CallStrip
}

// Add takes the call's next message. It returns the payload to stream (nil
// when there is none; valid until the next Add), and an error for an error
// message or one this role cannot send.
func (c *Call) Add(m Message) (protocol.Payload, error) {
	switch m.Type {
	case MsgDelta:
		c.delta = protocol.CallDelta{Text: m.Text}
		return &c.delta, nil
	case MsgRow:
		c.row = protocol.CallRow{Row: m.Row, Tokens: m.Tokens}
		return &c.row, nil
	case MsgStrip:
		c.strip = protocol.CallStrip{PNG: m.PNG, Tokens: m.Tokens}
		if m.Rows != nil {
			c.strip.Rows = *m.Rows
		}
		return &c.strip, nil
	case MsgSetEnd:
		c.end = m.End
		return nil, nil
	case MsgError:
		return nil, errors.New(m.Message)
	case MsgDone:
		d := &protocol.CallDone{Role: c.Role}
		switch c.Role {
		case protocol.RoleThink:
			d.Thought = &protocol.ThoughtResult{Text: m.Text, EndRow: c.end}
		case protocol.RolePaint:
		case protocol.RoleCritique:
			d.Critique = m.Critique
		case protocol.RoleDecide:
			d.Decision = &protocol.DecisionResult{Think: m.Think, Probability: m.Probability}
		case protocol.RoleReview:
			d.Review = m.Review
		}
		c.done = d
		return nil, nil
	}
	return nil, fmt.Errorf("a %s call sent a message of unknown type %q", c.Role, m.Type)
}

// Done is the call's call_done once its done message has come, else nil.
func (c *Call) Done() *protocol.CallDone { return c.done }
