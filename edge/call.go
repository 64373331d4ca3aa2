package edge

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/world"
)

// Limits of a call's state, beside protocol.MaxPromptBytes.
const (
	maxThoughtBytes = 2000
	maxRound        = 16
)

// CallError is a failed call: a protocol error code and the cause.
type CallError struct {
	// Code is a protocol error code: invalid_request, backend_failed,
	// thinker_failed, painter_failed, critic_failed, decider_failed,
	// canceled or deadline_exceeded.
	Code string
	// Err is the cause.
	Err error
}

func (e *CallError) Error() string { return e.Err.Error() }
func (e *CallError) Unwrap() error { return e.Err }

// ErrorCode returns the protocol error code of err: a *CallError's or an
// *engine.Error's code, invalid_request for a prompt with unknown words,
// canceled or deadline_exceeded for a done context, else internal.
func ErrorCode(err error) string {
	if errors.Is(err, errClientGone) {
		return protocol.CodeCanceled
	}
	if e, ok := errors.AsType[*CallError](err); ok {
		return e.Code
	}
	if _, ok := errors.AsType[*world.ParseError](err); ok {
		return protocol.CodeInvalidRequest
	}
	if e, ok := errors.AsType[*engine.Error](err); ok {
		return e.Code
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return protocol.CodeDeadline
	case errors.Is(err, context.Canceled):
		return protocol.CodeCanceled
	}
	return protocol.CodeInternal
}

// Call plays one role once on a fresh run of backend b: the request carries
// the whole state, so nothing is kept between calls. Thought tokens (think)
// and painted rows (paint) go to emit as *protocol.CallDelta and
// *protocol.CallRow as they come; an emit error stops the call and is
// returned as is. The result is the call_done payload.
//
// The fresh run is seeded from the request: settings.seed mixed with the
// role, band and round, so the same request gives the same answer and the
// bands of one run do not share a random stream.
func Call(ctx context.Context, b engine.Backend, c protocol.Call, emit func(protocol.Payload) error) (*protocol.CallDone, error) {
	st, err := callState(c)
	if err != nil {
		return nil, &CallError{Code: protocol.CodeInvalidRequest, Err: err}
	}
	if b == nil {
		return nil, &CallError{Code: protocol.CodeBackend, Err: errors.New("this gateway has no model backend")}
	}
	r := c.Request
	spec := engine.RunSpec{Prompt: r.Prompt, Settings: r.Settings, Seed: CallSeed(r.Settings.Seed, c.Role, r.Band, r.Round)}
	spec.Settings.Seed = spec.Seed
	if spec.Settings.Bands == 0 {
		spec.Settings.Bands = b.DefaultBands()
	}
	run, err := b.NewRun(ctx, spec)
	if err != nil {
		if _, ok := errors.AsType[*world.ParseError](err); ok {
			return nil, &CallError{Code: protocol.CodeInvalidRequest, Err: fmt.Errorf("the prompt: %w", err)}
		}
		return nil, roleErr(ctx, protocol.CodeBackend, "starting the model", err)
	}
	defer run.Close()
	roles := run.Roles()
	switch c.Role {
	case protocol.RoleThink:
		return callThink(ctx, roles.Thinker, st, emit)
	case protocol.RolePaint:
		return callPaint(ctx, roles.Painter, engine.PaintRequest{State: st, Round: r.Round, Thought: r.Thought}, emit)
	case protocol.RoleCritique:
		if roles.Critic == nil {
			return nil, &CallError{Code: protocol.CodeCritic, Err: errors.New("the backend has no critic")}
		}
		if st.Rows.End < 0 {
			return nil, &CallError{Code: protocol.CodeInvalidRequest, Err: errors.New("critique needs a band with known rows (rows.end ≥ 0)")}
		}
		cr, err := roles.Critic.Critique(ctx, engine.CritiqueRequest{State: st, Round: r.Round, Thought: r.Thought})
		if err != nil {
			return nil, roleErr(ctx, protocol.CodeCritic, "critiquing", err)
		}
		return &protocol.CallDone{Role: c.Role, Critique: &protocol.CritiqueResult{Score: max(0, min(100, cr.Score)),
			Parsed: cr.Parsed, Revision: cr.Revision, Raw: cr.Raw, Tokens: cr.Tokens}}, nil
	case protocol.RoleDecide:
		if roles.Decider == nil {
			return nil, &CallError{Code: protocol.CodeInvalidRequest, Err: errors.New("decide needs settings.adaptive and settings.think (the backend has no decider otherwise)")}
		}
		think, p, err := roles.Decider.ShouldThink(ctx, engine.DecideRequest{State: st, Row: r.Row, Thought: r.Thought})
		if err != nil {
			return nil, roleErr(ctx, protocol.CodeDecider, "deciding", err)
		}
		return &protocol.CallDone{Role: c.Role, Decision: &protocol.DecisionResult{Think: think, Probability: p}}, nil
	}
	return nil, &CallError{Code: protocol.CodeInvalidRequest, Err: fmt.Errorf("unknown role %q", c.Role)}
}

func callThink(ctx context.Context, th engine.Thinker, st engine.State, emit func(protocol.Payload) error) (*protocol.CallDone, error) {
	if th == nil {
		return nil, &CallError{Code: protocol.CodeThinker, Err: errors.New("the backend has no thinker (is settings.think off?)")}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var g engine.Gate
	var emitErr error
	tokens, end := 0, 0
	req := engine.ThinkRequest{State: st}
	if st.Rows.End < 0 {
		req.SetEnd = func(e int) { g.Do(func() { end = e }) }
	}
	text, err := th.Think(ctx, req, func(delta string) {
		g.Do(func() {
			if emitErr != nil {
				return
			}
			tokens++
			if e := emit(&protocol.CallDelta{Text: delta}); e != nil {
				emitErr = e
				cancel(e)
			}
		})
	})
	g.Close()
	switch {
	case emitErr != nil:
		return nil, emitErr
	case err != nil:
		return nil, roleErr(ctx, protocol.CodeThinker, "thinking", err)
	case tokens == 0 && text != "":
		tokens = 1
		if err := emit(&protocol.CallDelta{Text: text}); err != nil {
			return nil, err
		}
	}
	if end != 0 && (end <= st.Rows.Start || end > world.Grid) {
		return nil, &CallError{Code: protocol.CodeThinker, Err: fmt.Errorf("the thinker ended the band at row %d, outside (%d, %d]", end, st.Rows.Start, world.Grid)}
	}
	return &protocol.CallDone{Role: protocol.RoleThink, Thought: &protocol.ThoughtResult{Text: text, Tokens: tokens, EndRow: end}}, nil
}

func callPaint(ctx context.Context, p engine.Painter, req engine.PaintRequest, emit func(protocol.Payload) error) (*protocol.CallDone, error) {
	if p == nil {
		return nil, &CallError{Code: protocol.CodePainter, Err: errors.New("the backend has no painter")}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := req.Rows.End
	if stop < 0 {
		stop = world.Grid
	}
	var g engine.Gate
	var cbErr error
	next := req.Rows.Start
	err := p.PaintBand(ctx, req, func(row int, tokens []int) {
		g.Do(func() {
			if cbErr != nil {
				return
			}
			if e := engine.CheckRow(row, next, stop, tokens); e != nil {
				cbErr = &CallError{Code: protocol.CodePainter, Err: e}
				cancel(cbErr)
				return
			}
			next++
			if e := emit(&protocol.CallRow{Row: row, Tokens: slices.Clone(tokens)}); e != nil {
				cbErr = e
				cancel(e)
			}
		})
	})
	g.Close()
	switch {
	case cbErr != nil:
		return nil, cbErr
	case err != nil:
		return nil, roleErr(ctx, protocol.CodePainter, "painting", err)
	case req.Rows.End >= 0 && next != stop:
		return nil, &CallError{Code: protocol.CodePainter, Err: fmt.Errorf("the painter returned after rows [%d,%d) of [%d,%d)", req.Rows.Start, next, req.Rows.Start, stop)}
	}
	return &protocol.CallDone{Role: protocol.RolePaint, Rows: &protocol.Rows{Start: req.Rows.Start, End: next}}, nil
}

// roleErr wraps a role's error; a done context makes it canceled or
// deadline_exceeded whatever the role said.
func roleErr(ctx context.Context, code, doing string, err error) error {
	if e, ok := errors.AsType[*CallError](err); ok {
		return e
	}
	if cerr := context.Cause(ctx); ctx.Err() != nil {
		code = protocol.CodeCanceled
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			code = protocol.CodeDeadline
		}
		return &CallError{Code: code, Err: fmt.Errorf("call stopped while %s: %w", doing, cerr)}
	}
	return &CallError{Code: code, Err: fmt.Errorf("%s: %w", doing, err)}
}

// callState checks a call's request and turns it into the engine's State.
func callState(c protocol.Call) (engine.State, error) {
	r := c.Request
	st := engine.State{Prompt: r.Prompt, Settings: r.Settings, Band: r.Band, Rows: r.Rows, Thoughts: r.Thoughts}
	if err := r.Settings.Validate(); err != nil {
		return st, err
	}
	switch {
	case r.Band < 0 || r.Band >= world.Grid:
		return st, fmt.Errorf("band %d is out of range [0,%d)", r.Band, world.Grid)
	case r.Rows.Start < 0 || r.Rows.Start >= world.Grid:
		return st, fmt.Errorf("rows.start %d is out of range [0,%d)", r.Rows.Start, world.Grid)
	case r.Rows.End != -1 && (r.Rows.End <= r.Rows.Start || r.Rows.End > world.Grid):
		return st, fmt.Errorf("rows.end %d is out of range: use (%d,%d], or -1 for an open-ended band", r.Rows.End, r.Rows.Start, world.Grid)
	case len(r.Thoughts) > world.Grid:
		return st, fmt.Errorf("%d thoughts, more than the %d bands a canvas can have", len(r.Thoughts), world.Grid)
	case len(r.Thought) > maxThoughtBytes:
		return st, fmt.Errorf("the thought is %d bytes, over the limit of %d", len(r.Thought), maxThoughtBytes)
	case r.Round < 0 || r.Round > maxRound:
		return st, fmt.Errorf("round %d is out of range [0,%d]", r.Round, maxRound)
	case r.Row < 0 || r.Row > world.Grid:
		return st, fmt.Errorf("row %d is out of range [0,%d]", r.Row, world.Grid)
	}
	for i, t := range r.Thoughts {
		if len(t) > maxThoughtBytes {
			return st, fmt.Errorf("thought %d is %d bytes, over the limit of %d", i, len(t), maxThoughtBytes)
		}
	}
	switch len(r.Canvas) {
	case 0:
		st.Canvas = world.NewTokens()
	case world.Grid * world.Grid:
		st.Canvas = slices.Clone(world.Tokens(r.Canvas))
	default:
		return st, fmt.Errorf("the canvas has %d cells, want %d (%d×%d, -1 where undrawn) or none", len(r.Canvas), world.Grid*world.Grid, world.Grid, world.Grid)
	}
	for i, t := range st.Canvas {
		if t < -1 || t >= world.NumImageTokens {
			return st, fmt.Errorf("canvas cell %d holds %d, outside [-1,%d)", i, t, world.NumImageTokens)
		}
	}
	if c.Role == protocol.RoleCritique && r.Rows.End > r.Rows.Start {
		for i := r.Rows.Start * world.Grid; i < r.Rows.End*world.Grid; i++ {
			if st.Canvas[i] < 0 {
				return st, fmt.Errorf("the call's canvas has rows %d–%d undrawn: critique needs the band drawn", r.Rows.Start, r.Rows.End-1)
			}
		}
	}
	st.Thoughts = slices.Clone(r.Thoughts)
	if st.Thoughts == nil {
		st.Thoughts = []string{}
	}
	return st, nil
}

// CallRequest turns an engine state and a role's fields into a call's request.
func CallRequest(st engine.State, round int, thought string, row int) protocol.CallRequest {
	return protocol.CallRequest{Prompt: st.Prompt, Settings: st.Settings, Band: st.Band, Rows: st.Rows,
		Thoughts: slices.Clone(st.Thoughts), Canvas: slices.Clone([]int(st.Canvas)), Round: round, Thought: thought, Row: row}
}

// CallSeed derives a call's seed from the run's seed, the role, the band and
// the round (splitmix64 over the four), so calls of one run differ.
func CallSeed(seed int64, role string, band, round int) int64 {
	x := uint64(seed)
	for _, c := range role {
		x = mix(x ^ uint64(c))
	}
	x = mix(x ^ uint64(band)<<8 ^ uint64(round))
	s := int64(x >> 1)
	if s == 0 {
		s = 1
	}
	return s
}

func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
