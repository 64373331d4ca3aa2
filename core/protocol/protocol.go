// Package protocol holds twig's wire types: the versioned event stream that a
// run emits. The same JSON encoding is the trace file (one event a line,
// JSONL), the wire protocol of the server, edge and browser surfaces, and the
// input of every UI. It imports nothing else of twig.
//
// An event is one flat JSON object: the envelope fields (v, type, run_id, seq,
// t_ms) followed by the fields of its type's payload, e.g.
//
//	{"v":"twig/1","type":"thought_delta","run_id":"9f2c…","seq":7,"t_ms":12,"band":0,"text":" red"}
//
// docs/PROTOCOL.md documents every event with an example line.
package protocol

// Version names the protocol spoken by this build; every event it writes
// carries it. Readers also read Version1 (old traces): Event.V says which an
// event speaks, and the units of its rows depend on it.
const Version = Version2

// The protocol versions. twig/2 cuts the canvas into bands of pixel rows and
// carries each painted strip as a PNG (docs/PROTOCOL.md); twig/1 carried the
// embedded model's 16×16 token grid, band_progress a token row.
const (
	Version1 = "twig/1"
	Version2 = "twig/2"
)

// Readable reports whether this build reads events of version v.
func Readable(v string) bool { return v == Version1 || v == Version2 }

// Event types, the value of the envelope's "type" field.
const (
	TypeRunStarted      = "run_started"
	TypeThinkDecision   = "think_decision"
	TypeBandStarted     = "band_started"
	TypeThoughtDelta    = "thought_delta"
	TypeThoughtDone     = "thought_done"
	TypeBandProgress    = "band_progress"
	TypeBandDone        = "band_done"
	TypeCritique        = "critique"
	TypeBandRedrawn     = "band_redrawn"
	TypePlanReview      = "plan_review"
	TypeBudgetExhausted = "budget_exhausted"
	TypeRunDone         = "run_done"
	TypeError           = "error"
)

// Event is one message of a run's stream: the envelope plus a typed payload.
// On the wire the payload's fields sit beside the envelope's (one flat object).
type Event struct {
	// V is the protocol version; always Version on encode.
	V string `json:"v"`
	// Type names the payload; derived from Payload on encode.
	Type string `json:"type"`
	// RunID identifies the run; all events of one run share it.
	RunID string `json:"run_id"`
	// Seq numbers the run's events from 0 without gaps.
	Seq int64 `json:"seq"`
	// TMs is the time since the run started, in milliseconds.
	TMs int64 `json:"t_ms"`
	// Payload holds the type-specific fields; a pointer to one of the payload
	// types of this package (*Unknown for a type this build does not know).
	Payload Payload `json:"-"`
}

// Payload is the type-specific part of an Event. It is implemented by the
// pointer types of this package's payload structs.
type Payload interface {
	// EventType returns the event's "type" value.
	EventType() string
}

// Error codes carried by the error event.
const (
	CodeInvalidRequest = "invalid_request"   // bad settings or prompt; fix the request
	CodeCanceled       = "canceled"          // the run's context was cancelled
	CodeDeadline       = "deadline_exceeded" // the run's deadline passed
	CodeBackend        = "backend_failed"    // the backend could not start the run
	CodeThinker        = "thinker_failed"    // the thinker returned an error or broke the contract
	CodePainter        = "painter_failed"    // the painter returned an error or broke the contract
	CodeCritic         = "critic_failed"     // the critic returned an error
	CodeDecider        = "decider_failed"    // the decider returned an error
	CodeSink           = "sink_failed"       // the event consumer refused an event
	CodeGuest          = "guest_failed"      // a sandboxed guest broke a limit or the sandbox ABI (wasm/sandbox)
	CodeInternal       = "internal"          // a bug in twig
)

// Verdicts of a critique.
const (
	VerdictPass   = "pass"
	VerdictRedraw = "redraw"
)

// Reasons for a critique's verdict.
const (
	ReasonAboveThreshold = "above_threshold" // score ≥ threshold: pass
	ReasonUnparsed       = "unparsed"        // the critic's score could not be parsed: pass
	ReasonBelowThreshold = "below_threshold" // score < threshold and a round is left: redraw
	ReasonMaxRevisions   = "max_revisions"   // below threshold, but the band used its rounds: pass
	ReasonBudget         = "revision_budget" // below threshold, but the run's revision budget is spent: pass
)

// Budget names of the budget_exhausted event.
const (
	BudgetThoughtTokens = "thought_tokens"
	BudgetRevisions     = "revisions"
)
