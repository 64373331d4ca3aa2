package rolecall

import (
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// request is the part every call's request shares: the engine's State. The
// thoughts are not copied: a call is encoded before the engine changes
// them. The canvas goes as its size, its token view when some row came
// from a token model (with the grid), and its PNG as a data URL when some
// painted row did not: a token model's canvas travels as tokens alone.
func request(st engine.State) protocol.CallRequest {
	th := st.Thoughts
	if th == nil {
		th = []string{}
	}
	r := protocol.CallRequest{Prompt: st.Prompt, Settings: st.Settings, Band: st.Band, Rows: st.Rows, Thoughts: th}
	if c := st.Canvas; c != nil {
		r.Width, r.Height = c.W, c.H
		if c.Grid > 0 {
			r.Grid = c.Grid
			if c.AnyTokens() {
				r.Canvas = c.Tokens
			}
		}
		if c.AnyPainted() && !c.AllTokens() {
			r.CanvasPNG, _ = c.DataURL() // a canvas always encodes
		}
	}
	return r
}

// ThinkCall is the call of req.
func ThinkCall(req engine.ThinkRequest) protocol.Call {
	r := request(req.State)
	r.Attempt, r.Rejected = req.Attempt, rejectedWire(req.Rejected)
	return protocol.Call{Role: protocol.RoleThink, Request: r}
}

// PaintCall is the call of req.
func PaintCall(req engine.PaintRequest) protocol.Call {
	r := request(req.State)
	r.Round, r.Thought = req.Round, req.Thought
	return protocol.Call{Role: protocol.RolePaint, Request: r}
}

// CritiqueCall is the call of req.
func CritiqueCall(req engine.CritiqueRequest) protocol.Call {
	r := request(req.State)
	r.Round, r.Thought = req.Round, req.Thought
	return protocol.Call{Role: protocol.RoleCritique, Request: r}
}

// DecideCall is the call of req.
func DecideCall(req engine.DecideRequest) protocol.Call {
	r := request(req.State)
	r.Row, r.Thought = req.Row, req.Thought
	return protocol.Call{Role: protocol.RoleDecide, Request: r}
}

// ReviewCall is the call of req.
func ReviewCall(req engine.ReviewRequest) protocol.Call {
	r := request(req.State)
	r.Thought, r.Attempt, r.Rejected = req.Thought, req.Attempt, rejectedWire(req.Rejected)
	return protocol.Call{Role: protocol.RoleReview, Request: r}
}

func rejectedWire(v []engine.RejectedPlan) []protocol.RejectedPlan {
	if len(v) == 0 {
		return nil
	}
	out := make([]protocol.RejectedPlan, len(v))
	for i, p := range v {
		out[i] = protocol.RejectedPlan{Thought: p.Thought, Reason: p.Reason}
	}
	return out
}

func rejectedEngine(v []protocol.RejectedPlan) []engine.RejectedPlan {
	if len(v) == 0 {
		return nil
	}
	out := make([]engine.RejectedPlan, len(v))
	for i, p := range v {
		out[i] = engine.RejectedPlan{Thought: p.Thought, Reason: p.Reason}
	}
	return out
}

// CritiqueResult is c on the wire; every field travels.
func CritiqueResult(c engine.Critique) *protocol.CritiqueResult {
	return &protocol.CritiqueResult{Score: c.Score, Parsed: c.Parsed, Revision: c.Revision, Raw: c.Raw, Tokens: c.Tokens}
}

// Critique is the engine's critique of a wire result.
func Critique(r *protocol.CritiqueResult) engine.Critique {
	return engine.Critique{Score: r.Score, Parsed: r.Parsed, Revision: r.Revision, Raw: r.Raw, Tokens: r.Tokens}
}

// ReviewResult is v on the wire.
func ReviewResult(v engine.PlanReview) *protocol.ReviewResult {
	return &protocol.ReviewResult{Accepted: v.Accepted, Reason: v.Reason, Tokens: v.Tokens, POk: v.POk}
}

// Review is the engine's plan review of a wire result.
func Review(r *protocol.ReviewResult) engine.PlanReview {
	return engine.PlanReview{Accepted: r.Accepted, Reason: r.Reason, Tokens: r.Tokens, POk: r.POk}
}
