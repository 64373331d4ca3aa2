package rolecall

import (
	"errors"
	"fmt"
	"slices"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/tokens"
)

// Limits of a call's request, beside protocol.MaxPromptBytes and the
// settings' own ranges.
const (
	// MaxThoughtBytes bounds the band's thought and each earlier thought.
	// Remote thinkers write prose, so it is generous; a gateway's message
	// size limit bounds a whole request anyway.
	MaxThoughtBytes = 4000
	// MaxRound bounds a paint or critique call's round.
	MaxRound = 16
)

// Request is a checked call as the engine's types: the role and the fields
// of its engine request. Think, Paint, Critique, Decide and Review give the
// engine's request of each role.
type Request struct {
	// Role is one of protocol.Roles().
	Role string
	// State is the state every request carries; Canvas is the call's own copy.
	State engine.State
	// Round is paint's and critique's round.
	Round int
	// Thought is the band's thought (paint, critique, decide) or the plan to review.
	Thought string
	// Row is decide's row boundary.
	Row int
	// Attempt and Rejected are think's and review's plan attempt and the
	// band's rejected plans.
	Attempt  int
	Rejected []engine.RejectedPlan
}

// Think is r as the engine's think request (SetEnd left for the player).
func (r Request) Think() engine.ThinkRequest {
	return engine.ThinkRequest{State: r.State, Attempt: r.Attempt, Rejected: r.Rejected}
}

// Paint is r as the engine's paint request.
func (r Request) Paint() engine.PaintRequest {
	return engine.PaintRequest{State: r.State, Round: r.Round, Thought: r.Thought}
}

// Critique is r as the engine's critique request.
func (r Request) Critique() engine.CritiqueRequest {
	return engine.CritiqueRequest{State: r.State, Round: r.Round, Thought: r.Thought}
}

// Decide is r as the engine's decide request.
func (r Request) Decide() engine.DecideRequest {
	return engine.DecideRequest{State: r.State, Row: r.Row, Thought: r.Thought}
}

// Review is r as the engine's review request.
func (r Request) Review() engine.ReviewRequest {
	return engine.ReviewRequest{State: r.State, Thought: r.Thought, Attempt: r.Attempt, Rejected: r.Rejected}
}

// Decode checks call c — the one validator of every path — and returns it
// as the engine's types. A request with no canvas gets a copy of canvas
// when that is not nil (the sandbox's host keeps the run's canvas from its
// events, so a guest need not send it), else an undrawn canvas. Errors say
// in one line what is wrong; the gateway answers them with invalid_request.
func Decode(c protocol.Call, canvas tokens.Tokens) (Request, error) {
	r := c.Request
	out := Request{Role: c.Role, Round: r.Round, Thought: r.Thought, Row: r.Row, Attempt: r.Attempt,
		Rejected: rejectedEngine(r.Rejected),
		State:    engine.State{Prompt: r.Prompt, Settings: r.Settings, Band: r.Band, Rows: r.Rows}}
	if !slices.Contains(protocol.Roles(), c.Role) {
		return out, fmt.Errorf("unknown role %q: use think, paint, critique, decide or review", clip(c.Role))
	}
	if err := r.Settings.Validate(); err != nil {
		return out, err
	}
	const g = tokens.Grid
	switch {
	case len(r.Prompt) > protocol.MaxPromptBytes:
		return out, fmt.Errorf("the prompt is %d bytes, over the limit of %d", len(r.Prompt), protocol.MaxPromptBytes)
	case r.Band < 0 || r.Band >= g:
		return out, fmt.Errorf("band %d is out of range [0,%d)", r.Band, g)
	case r.Rows.Start < 0 || r.Rows.Start >= g:
		return out, fmt.Errorf("rows.start %d is out of range [0,%d)", r.Rows.Start, g)
	case r.Rows.End != -1 && (r.Rows.End <= r.Rows.Start || r.Rows.End > g):
		return out, fmt.Errorf("rows.end %d is out of range: use (%d,%d], or -1 for an open-ended band", r.Rows.End, r.Rows.Start, g)
	case len(r.Thoughts) > r.Band:
		return out, fmt.Errorf("%d thoughts for band %d: a request carries the thoughts of earlier bands only", len(r.Thoughts), r.Band)
	case len(r.Thought) > MaxThoughtBytes:
		return out, fmt.Errorf("the thought is %d bytes, over the limit of %d", len(r.Thought), MaxThoughtBytes)
	case r.Round < 0 || r.Round > MaxRound:
		return out, fmt.Errorf("round %d is out of range [0,%d]", r.Round, MaxRound)
	case r.Row < 0 || r.Row > g:
		return out, fmt.Errorf("row %d is out of range [0,%d]", r.Row, g)
	case r.Attempt < 0 || r.Attempt >= protocol.MaxPlanAttempts:
		return out, fmt.Errorf("attempt %d is out of range [0,%d)", r.Attempt, protocol.MaxPlanAttempts)
	case len(r.Rejected) > r.Attempt:
		return out, fmt.Errorf("%d rejected plans for attempt %d: a request carries the band's earlier plans only", len(r.Rejected), r.Attempt)
	}
	for i, t := range r.Thoughts {
		if len(t) > MaxThoughtBytes {
			return out, fmt.Errorf("thought %d is %d bytes, over the limit of %d", i, len(t), MaxThoughtBytes)
		}
	}
	for i, p := range r.Rejected {
		if len(p.Thought)+len(p.Reason) > MaxThoughtBytes {
			return out, fmt.Errorf("rejected plan %d is %d bytes, over the limit of %d", i, len(p.Thought)+len(p.Reason), MaxThoughtBytes)
		}
	}
	st := &out.State
	switch len(r.Canvas) {
	case 0:
		if canvas != nil {
			st.Canvas = slices.Clone(canvas)
		} else {
			st.Canvas = tokens.NewTokens()
		}
	case g * g:
		st.Canvas = slices.Clone(tokens.Tokens(r.Canvas))
	default:
		return out, fmt.Errorf("the canvas has %d cells, want %d (%d×%d, -1 where undrawn) or none", len(r.Canvas), g*g, g, g)
	}
	if len(st.Canvas) != g*g {
		return out, fmt.Errorf("the canvas has %d cells, want %d", len(st.Canvas), g*g)
	}
	for i, t := range st.Canvas {
		if t < -1 || t >= tokens.NumImageTokens {
			return out, fmt.Errorf("canvas cell %d holds %d, outside [-1,%d)", i, t, tokens.NumImageTokens)
		}
	}
	if c.Role == protocol.RoleCritique {
		if r.Rows.End < 0 {
			return out, errors.New("critique needs a band with known rows (rows.end ≥ 0)")
		}
		for i := r.Rows.Start * g; i < r.Rows.End*g; i++ {
			if st.Canvas[i] < 0 {
				return out, fmt.Errorf("the call's canvas has rows %d–%d undrawn: critique needs the band drawn", r.Rows.Start, r.Rows.End-1)
			}
		}
	}
	st.Thoughts = slices.Clone(r.Thoughts)
	if st.Thoughts == nil {
		st.Thoughts = []string{}
	}
	return out, nil
}

// clip shortens a string a client sent before it goes into an error message.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	r := []rune(s[:40])
	return string(r[:len(r)-1]) + "…"
}
