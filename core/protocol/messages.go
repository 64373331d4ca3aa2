package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/twig-project/twig/internal/textutil"
)

// Client → server message types (the value of a Message's "type"). They do
// not collide with the event types.
const (
	TypeStart  = "start"  // start a run
	TypeCancel = "cancel" // cancel a run or a model call
	TypeCall   = "call"   // one model call: think, paint, critique or decide
)

// Server → client additions to the event types: a connection's greeting and
// the stream of a model call. They share the event envelope; a call's
// events carry the call's id as run_id.
const (
	TypeHello     = "hello"      // first message on a connection (run_id "")
	TypeCallDelta = "call_delta" // a thought token of a think call
	TypeCallRow   = "call_row"   // twig/1: a painted token row of a paint call
	TypeCallStrip = "call_strip" // twig/2: a painted strip of a paint call
	TypeCallDone  = "call_done"  // closes a call's stream with its result
)

// Roles a model call can ask for.
const (
	RoleThink    = "think"
	RolePaint    = "paint"
	RoleCritique = "critique"
	RoleDecide   = "decide"
	// RoleReview asks the thinker to review the plan it wrote (the engine's
	// PlanReviewer). A gateway lists it in hello only when its model reviews
	// its plans: a client plays plan reviews remotely only then, so a run
	// through calls has the same plan_review events as one on the server.
	RoleReview = "review"
)

// Roles lists the roles of a model call.
func Roles() []string { return []string{RoleThink, RolePaint, RoleCritique, RoleDecide, RoleReview} }

// Error codes of the gateway (beside the run codes above). An error event
// with run_id "" is about the connection, not about one request.
const (
	CodeBadMessage  = "bad_message"         // not a JSON object of the right shape; nothing was started
	CodeBadVersion  = "unsupported_version" // "v" is missing or not this build's Version
	CodeUnknownType = "unknown_type"        // "type" is not a client message type
	CodeTooLarge    = "message_too_large"   // the message is over the size limit; it was dropped
	CodeTooMany     = "too_many_requests"   // a concurrency limit (per connection or per address) is reached
	CodeDuplicateID = "duplicate_id"        // the id names a request still in flight
	CodeDraining    = "draining"            // the server is shutting down and takes no new requests
)

// WebSocket close codes the gateway uses (RFC 6455 §7.4 and the 4000–4999
// private range).
const (
	CloseNormal       = 1000 // the client closed, or a drained server said goodbye after its last run
	CloseGoingAway    = 1001 // the server is shutting down
	CloseTooBig       = 1009 // a frame over the hard size limit; the stream could not be resynchronised
	CloseInternal     = 1011 // a bug in the server
	CloseIdle         = 4000 // nothing in flight and no message for the idle timeout
	CloseSlowConsumer = 4001 // the client read too slowly: its outbound queue filled up
)

// MaxIDBytes is the longest request id.
const MaxIDBytes = 64

// MaxPromptBytes is the longest prompt a message may carry.
const MaxPromptBytes = 2000

// Message is one client → server message: one flat JSON object of the
// envelope ("v", "type", "id") and the fields of its type. Decode it with
// DecodeMessage.
type Message struct {
	// V is the protocol version, Version.
	V string `json:"v"`
	// Type is TypeStart, TypeCancel or TypeCall.
	Type string `json:"type"`
	// ID names the request: the run_id of the events that answer it. The
	// client chooses it; 1–64 characters of [A-Za-z0-9._:-], unique among the
	// connection's requests in flight.
	ID string `json:"id"`
	// Body is *Start, *Cancel or *Call.
	Body MessageBody `json:"-"`
}

// MessageBody is the type-specific part of a Message.
type MessageBody interface {
	MessageType() string
}

// Start asks for a run. Its events carry the message's id as run_id.
type Start struct {
	// Prompt is what to draw.
	Prompt string `json:"prompt"`
	// Settings are the run's settings; fields left out keep their defaults.
	Settings Settings `json:"settings"`
}

// Cancel cancels the run or call named by the message's id. Cancelling an id
// that is not in flight does nothing (it may just have finished).
type Cancel struct{}

// Call asks the server's model to play one role once, statelessly: the
// request carries the whole state, the server runs the role on a fresh model
// session, streams call_delta (think) or call_strip (paint) events and
// closes with call_done or error.
type Call struct {
	// Role is RoleThink, RolePaint, RoleCritique or RoleDecide.
	Role string `json:"role"`
	// Request is the role's request: the engine's State and the role's fields.
	Request CallRequest `json:"request"`
}

// CallRequest mirrors the engine's requests (engine.ThinkRequest,
// PaintRequest, CritiqueRequest, DecideRequest): the JSON of any of them is a
// valid CallRequest.
type CallRequest struct {
	// Prompt is the user's request.
	Prompt string `json:"prompt"`
	// Settings are the run's settings; fields left out keep their defaults.
	Settings Settings `json:"settings"`
	// Band is the band's index, from 0.
	Band int `json:"band"`
	// Rows are the band's rows; End -1 for an open-ended band (think, paint, decide).
	Rows Rows `json:"rows"`
	// Thoughts are the accepted thoughts of the earlier bands ("" where none).
	Thoughts []string `json:"thoughts"`
	// Width and Height are the canvas's size in pixels (twig/2); rows are
	// pixel rows of it. Both 0 in twig/1, where rows were token rows.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Grid is the token grid's side when Canvas carries tokens (twig/2: a
	// token model's view; token row r is pixel rows [r·Height/Grid,
	// (r+1)·Height/Grid)).
	Grid int `json:"grid,omitempty"`
	// Canvas is the canvas so far as grid×grid tokens, -1 where undrawn or
	// not painted by a token model; empty = none. In twig/2 it is sent when
	// some row came from a token model; in twig/1 it was the whole canvas.
	Canvas []int `json:"canvas,omitempty"`
	// CanvasPNG is the canvas so far as a data URL of a PNG (RGBA, Width ×
	// Height, transparent where undrawn): sent in twig/2 when some painted
	// row did not come from a token model (a remote painter's picture). A
	// request with neither Canvas nor CanvasPNG has nothing drawn yet (or,
	// from a sandboxed guest, leaves the canvas to the host's events).
	CanvasPNG string `json:"canvas_png,omitempty"`
	// Round is, for paint and critique, 0 for the first drawing, r for the r-th redraw.
	Round int `json:"round,omitempty"`
	// Thought is, for paint and critique, the band's thought; for decide, the open band's.
	Thought string `json:"thought,omitempty"`
	// Row is, for decide, the row boundary asked about (a pixel row in twig/2).
	Row int `json:"row,omitempty"`
	// Attempt is, for think and review, 0 for the band's first plan, a for
	// its a-th rewrite; for review, Thought is the plan to review.
	Attempt int `json:"attempt,omitempty"`
	// Rejected are, for think and review, the band's plans rejected so far,
	// oldest first.
	Rejected []RejectedPlan `json:"rejected,omitempty"`
}

// RejectedPlan is a plan its thinker rejected, with the thinker's reason.
type RejectedPlan struct {
	// Thought is the rejected plan.
	Thought string `json:"thought"`
	// Reason is why, in the thinker's words.
	Reason string `json:"reason"`
}

func (*Start) MessageType() string  { return TypeStart }
func (*Cancel) MessageType() string { return TypeCancel }
func (*Call) MessageType() string   { return TypeCall }

// Hello greets a connection (run_id "", seq 0): what the server speaks and its limits.
type Hello struct {
	// Server names the server software.
	Server string `json:"server"`
	// Backend names the model backend, when it has a name.
	Backend string `json:"backend,omitempty"`
	// Roles are the model-call roles the server plays.
	Roles []string `json:"roles"`
	// Limits are the connection's limits.
	Limits Limits `json:"limits"`
	// Canvas is the canvas the server's painter paints (twig/2), when the
	// server says: a client playing runs on the server's paint calls cuts
	// its canvas and bands by it. Absent: a token model's (256×256, grid 16).
	Canvas *Canvas `json:"canvas,omitempty"`
}

// Canvas is a painter's canvas: its size in pixels, the token grid's side
// when the painter is a token model (0 otherwise), and the unit (in pixel
// rows) that band edges are multiples of.
// A gateway's hello carries it, and GET /v1/models as the extension
// twig.canvas.
type Canvas struct {
	Width  int `json:"width"`
	Height int `json:"height"`
	Grid   int `json:"grid,omitempty"`
	Unit   int `json:"unit"`
}

// Limits are a gateway's limits as announced to a client.
type Limits struct {
	// MaxMessageBytes is the largest client message accepted.
	MaxMessageBytes int `json:"max_message_bytes"`
	// MaxInFlight is the number of runs and calls one connection may have in flight.
	MaxInFlight int `json:"max_in_flight"`
	// MaxInFlightPerAddr is the same, across all connections from one address.
	MaxInFlightPerAddr int `json:"max_in_flight_per_addr"`
	// QueueMessages is the size of the connection's outbound queue.
	QueueMessages int `json:"queue_messages"`
	// IdleTimeoutMs closes a connection with nothing in flight and no message for this long.
	IdleTimeoutMs int64 `json:"idle_timeout_ms"`
	// RunTimeoutMs bounds one run or call.
	RunTimeoutMs int64 `json:"run_timeout_ms"`
}

// CallDelta is a thought token of a think call, as the model writes it.
type CallDelta struct {
	// Text is the text to append to the thought so far.
	Text string `json:"text"`
	// Coalesced, when 2 or more, says this delta stands for that many (see
	// ThoughtDelta.Coalesced).
	Coalesced int `json:"coalesced,omitempty"`
}

// CallStrip is one painted strip of a paint call (twig/2): the pixel rows
// Rows as a base64 PNG, as band_progress carries them, and the token rows
// they came from when the painter is a token model.
type CallStrip struct {
	// Rows are the canvas's pixel rows painted.
	Rows Rows `json:"rows"`
	// PNG is the base64 PNG (RGBA) of exactly those rows, as wide as the canvas.
	PNG string `json:"png"`
	// Tokens are the strip's token rows in raster order, when a token model painted it.
	Tokens []int `json:"tokens,omitempty"`
}

// CallRow is one painted token row of a paint call (twig/1).
type CallRow struct {
	// Row is the canvas row.
	Row int `json:"row"`
	// Tokens are the row's grid image tokens, left to right.
	Tokens []int `json:"tokens"`
}

// CallDone closes a call's stream with the role's result; exactly one of
// its result fields is set, as the role says.
type CallDone struct {
	// Role is the call's role.
	Role string `json:"role"`
	// Thought is the result of think.
	Thought *ThoughtResult `json:"thought,omitempty"`
	// Rows is the result of paint: the rows painted (pixel rows in twig/2).
	Rows *Rows `json:"rows,omitempty"`
	// Critique is the result of critique.
	Critique *CritiqueResult `json:"critique,omitempty"`
	// Decision is the result of decide.
	Decision *DecisionResult `json:"decision,omitempty"`
	// Review is the result of review.
	Review *ReviewResult `json:"review,omitempty"`
}

// ReviewResult is a thinker's verdict on its own plan.
type ReviewResult struct {
	// Accepted is the verdict.
	Accepted bool `json:"accepted"`
	// Reason says why a plan was rejected, in the thinker's words.
	Reason string `json:"reason,omitempty"`
	// Tokens is how many tokens the review took (0 = unknown).
	Tokens int `json:"tokens,omitempty"`
	// POk is the thinker's probability that the plan is right, in (0, 1];
	// 0 when it reports none (plan_candidates chooses by it).
	POk float64 `json:"p_ok,omitempty"`
}

// ThoughtResult is a thinker's answer.
type ThoughtResult struct {
	// Text is the whole thought.
	Text string `json:"text"`
	// Tokens is the number of thought tokens (call_delta events) it took.
	Tokens int `json:"tokens"`
	// EndRow is where the thinker ended an open-ended band; 0 when it did not.
	EndRow int `json:"end_row,omitempty"`
}

// CritiqueResult is a critic's answer.
type CritiqueResult struct {
	// Score is 0–100.
	Score int `json:"score"`
	// Parsed is false when no score could be read (the band then passes).
	Parsed bool `json:"parsed"`
	// Revision is the improved thought.
	Revision string `json:"revision"`
	// Raw is the critic's raw output.
	Raw string `json:"raw,omitempty"`
	// Tokens is how many tokens the critic generated, when it reports it.
	Tokens int `json:"tokens,omitempty"`
}

// DecisionResult is a decider's answer.
type DecisionResult struct {
	// Think is true when a thought (and a new band) starts at the row.
	Think bool `json:"think"`
	// Probability is the decider's probability of thinking, 0–1.
	Probability float64 `json:"probability"`
}

func (*Hello) EventType() string     { return TypeHello }
func (*CallDelta) EventType() string { return TypeCallDelta }
func (*CallRow) EventType() string   { return TypeCallRow }
func (*CallStrip) EventType() string { return TypeCallStrip }
func (*CallDone) EventType() string  { return TypeCallDone }

// MessageError says why a client message was refused: a gateway error code,
// the id when it could be read, and what is wrong.
type MessageError struct {
	// Code is CodeBadMessage, CodeBadVersion, CodeUnknownType or CodeInvalidRequest.
	Code string
	// ID is the message's id when it was readable and valid, else "".
	ID string
	// Msg says what is wrong, in one line.
	Msg string
}

func (e *MessageError) Error() string { return e.Code + ": " + e.Msg }

// MarshalJSON encodes the message as one flat object: envelope, then body.
func (m Message) MarshalJSON() ([]byte, error) {
	if m.Body == nil {
		return nil, errors.New("protocol: message has no body")
	}
	h, err := json.Marshal(msgHeader{V: Version, Type: m.Body.MessageType(), ID: m.ID})
	if err != nil {
		return nil, err
	}
	p, err := json.Marshal(m.Body)
	if err != nil {
		return nil, err
	}
	if len(p) <= 2 {
		return h, nil
	}
	out := append(h[:len(h)-1:len(h)-1], ',')
	return append(out, p[1:]...), nil
}

type msgHeader struct {
	V    string `json:"v"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Wire mirrors of the bodies, decoded strictly: plainSettings has no
// UnmarshalJSON of its own, so unknown settings fields are refused too, and
// it is filled with the defaults before decoding.
type plainSettings Settings

type startWire struct {
	msgHeader
	Prompt   string        `json:"prompt"`
	Settings plainSettings `json:"settings"`
}

type cancelWire struct {
	msgHeader
}

type callWire struct {
	msgHeader
	Role    string          `json:"role"`
	Request *callRequestRaw `json:"request"`
}

type callRequestRaw struct {
	Prompt    string         `json:"prompt"`
	Settings  plainSettings  `json:"settings"`
	Band      int            `json:"band"`
	Rows      *Rows          `json:"rows"`
	Thoughts  []string       `json:"thoughts"`
	Width     int            `json:"width"`
	Height    int            `json:"height"`
	Grid      int            `json:"grid"`
	Canvas    []int          `json:"canvas"`
	CanvasPNG string         `json:"canvas_png"`
	Round     int            `json:"round"`
	Thought   string         `json:"thought"`
	Row       int            `json:"row"`
	Attempt   int            `json:"attempt"`
	Rejected  []RejectedPlan `json:"rejected"`
}

// DecodeMessage parses one client message strictly: unknown fields, a
// missing or foreign version, an unknown type, a bad id or invalid settings
// give a *MessageError (with the id when it could be read).
func DecodeMessage(b []byte) (Message, error) {
	var h msgHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return Message{}, &MessageError{Code: CodeBadMessage, Msg: "not a JSON object of the twig/1 message shape: " + oneLine(err)}
	}
	id := ""
	if checkID(h.ID) == nil {
		id = h.ID
	}
	bad := func(code, format string, a ...any) (Message, error) {
		return Message{}, &MessageError{Code: code, ID: id, Msg: fmt.Sprintf(format, a...)}
	}
	switch {
	case h.V == "":
		return bad(CodeBadVersion, "the message has no \"v\" field: send \"v\":%q", Version)
	case h.V != Version:
		return bad(CodeBadVersion, "the message speaks %q, this server speaks %q", clip(h.V), Version)
	case h.Type == "":
		return bad(CodeBadMessage, "the message has no \"type\" field: use start, cancel or call")
	}
	if err := checkID(h.ID); err != nil {
		return bad(CodeBadMessage, "%v", err)
	}
	m := Message{V: h.V, Type: h.Type, ID: h.ID}
	switch h.Type {
	case TypeStart:
		w := startWire{Settings: plainSettings(DefaultSettings())}
		if err := strict(b, &w); err != nil {
			return bad(CodeBadMessage, "bad start message: %s", oneLine(err))
		}
		s := Settings(w.Settings)
		prompt := strings.TrimSpace(w.Prompt)
		switch {
		case prompt == "":
			return bad(CodeInvalidRequest, "the prompt is empty: say what to draw")
		case len(w.Prompt) > MaxPromptBytes:
			return bad(CodeInvalidRequest, "the prompt is %d bytes, over the limit of %d", len(w.Prompt), MaxPromptBytes)
		}
		if err := s.Validate(); err != nil {
			return bad(CodeInvalidRequest, "%v", err)
		}
		m.Body = &Start{Prompt: w.Prompt, Settings: s}
	case TypeCancel:
		var w cancelWire
		if err := strict(b, &w); err != nil {
			return bad(CodeBadMessage, "bad cancel message: %s", oneLine(err))
		}
		m.Body = &Cancel{}
	case TypeCall:
		w := callWire{Request: &callRequestRaw{Settings: plainSettings(DefaultSettings())}}
		if err := strict(b, &w); err != nil {
			return bad(CodeBadMessage, "bad call message: %s", oneLine(err))
		}
		c, err := w.call()
		if err != nil {
			return bad(CodeInvalidRequest, "%v", err)
		}
		m.Body = c
	default:
		if newPayload(h.Type) != nil {
			return bad(CodeUnknownType, "%q is a server event, not a client message: send start, cancel or call", clip(h.Type))
		}
		return bad(CodeUnknownType, "unknown message type %q: use start, cancel or call", clip(h.Type))
	}
	return m, nil
}

func (w callWire) call() (*Call, error) {
	r := w.Request
	switch {
	case !isRole(w.Role):
		return nil, fmt.Errorf("unknown role %q: use think, paint, critique, decide or review", clip(w.Role))
	case r.Rows == nil:
		return nil, errors.New("the call's request has no \"rows\": say which rows the band holds")
	case strings.TrimSpace(r.Prompt) == "":
		return nil, errors.New("the call's prompt is empty")
	case len(r.Prompt) > MaxPromptBytes:
		return nil, fmt.Errorf("the call's prompt is %d bytes, over the limit of %d", len(r.Prompt), MaxPromptBytes)
	}
	s := Settings(r.Settings)
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(r.Canvas) == 0 {
		r.Canvas = nil // "canvas":[] and none mean the same (omitempty)
	}
	return &Call{Role: w.Role, Request: CallRequest{Prompt: r.Prompt, Settings: s, Band: r.Band, Rows: *r.Rows,
		Thoughts: r.Thoughts, Width: r.Width, Height: r.Height, Grid: r.Grid, Canvas: r.Canvas, CanvasPNG: r.CanvasPNG, Round: r.Round, Thought: r.Thought, Row: r.Row,
		Attempt: r.Attempt, Rejected: r.Rejected}}, nil
}

func isRole(r string) bool {
	for _, x := range Roles() {
		if r == x {
			return true
		}
	}
	return false
}

// Span is how many events e stands for: Coalesced for a merged
// thought_delta or call_delta, else 1. A reader checking for gaps expects the next seq of
// a stream to be seq+1 and this one's to be the previous seq + Span.
func Span(e Event) int64 {
	n := 0
	switch d := e.Payload.(type) {
	case *ThoughtDelta:
		n = d.Coalesced
	case *CallDelta:
		n = d.Coalesced
	}
	return int64(max(n, 1))
}

// strict decodes one JSON object into v, refusing unknown fields and
// trailing data.
func strict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

func checkID(id string) error {
	if id == "" {
		return errors.New("the message has no \"id\": name the request (1–64 characters of A-Z a-z 0-9 . _ : -)")
	}
	if len(id) > MaxIDBytes {
		return fmt.Errorf("the id is %d bytes, over the limit of %d", len(id), MaxIDBytes)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return fmt.Errorf("the id %q has the character %q: use A-Z a-z 0-9 . _ : -", clip(id), c)
		}
	}
	return nil
}

// clip shortens a string a client sent before it goes into an error message.
func clip(s string) string { return textutil.Clip(s, 40) }

func oneLine(err error) string { return textutil.OneLine(err.Error()) }

// DecodeSettings decodes a settings object strictly: fields left out keep
// their defaults, unknown fields and out-of-range values are errors. Empty
// input or null gives the defaults.
func DecodeSettings(b []byte) (Settings, error) {
	p := plainSettings(DefaultSettings())
	if len(bytes.TrimSpace(b)) > 0 {
		if err := strict(b, &p); err != nil {
			return DefaultSettings(), fmt.Errorf("settings: %s", oneLine(err))
		}
	}
	s := Settings(p)
	return s, s.Validate()
}
