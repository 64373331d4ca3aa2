package rolecall

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// Error is a failed call: a protocol error code and the cause.
type Error struct {
	// Code is a protocol error code: invalid_request, backend_failed,
	// thinker_failed, painter_failed, critic_failed, decider_failed,
	// canceled or deadline_exceeded (or a gateway's own, e.g. rate_limited).
	Code string
	// Err is the cause.
	Err error
	// role is the role's own error, when the role failed.
	role error
}

// RoleCause is the error a role itself returned when err is an *Error of a
// failed role, else err: what a host that forwards the failure as is (the
// sandbox's error message) reports, without this package's wording.
func RoleCause(err error) error {
	if e, ok := errors.AsType[*Error](err); ok && e.role != nil {
		return e.role
	}
	return err
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Reviews reports whether roles can play review calls: the thinker reviews
// its plans (engine.PlanReviewer).
func Reviews(roles engine.Roles) bool {
	_, ok := roles.Thinker.(engine.PlanReviewer)
	return ok
}

// Play plays call r once on roles. Thought tokens (think) and painted
// strips (paint) go to emit as *protocol.CallDelta and *protocol.CallStrip
// as they come; an emit error stops the call and is returned as is. The result is
// the call_done payload; a failure is an *Error with the role's code.
func Play(ctx context.Context, roles engine.Roles, r Request, emit func(protocol.Payload) error) (*protocol.CallDone, error) {
	return PlayStrips(ctx, roles, r, emit, nil)
}

// PlayStrips is Play whose painted strips, when strip is not nil, go to
// strip as the painter made them (checked) instead of to emit as a
// *protocol.CallStrip with their PNG: a host that passes the pixels on (the
// sandbox to its guest) encodes no PNG. The strip's pixels must not be
// changed.
func PlayStrips(ctx context.Context, roles engine.Roles, r Request, emit func(protocol.Payload) error, strip func(canvas.Strip) error) (*protocol.CallDone, error) {
	switch r.Role {
	case protocol.RoleThink:
		return playThink(ctx, roles.Thinker, r, emit)
	case protocol.RolePaint:
		return playPaint(ctx, roles.Painter, r.Paint(), emit, strip)
	case protocol.RoleCritique:
		if roles.Critic == nil {
			return nil, &Error{Code: protocol.CodeCritic, Err: errors.New("the backend has no critic")}
		}
		cr, err := roles.Critic.Critique(ctx, r.Critique())
		if err != nil {
			return nil, roleErr(ctx, protocol.CodeCritic, "critiquing", err)
		}
		cr.Score = max(0, min(100, cr.Score))
		return &protocol.CallDone{Role: r.Role, Critique: CritiqueResult(cr)}, nil
	case protocol.RoleDecide:
		if roles.Decider == nil {
			return nil, &Error{Code: protocol.CodeInvalidRequest, Err: errors.New("decide needs settings.adaptive and settings.think (the backend has no decider otherwise)")}
		}
		think, p, err := roles.Decider.ShouldThink(ctx, r.Decide())
		if err != nil {
			return nil, roleErr(ctx, protocol.CodeDecider, "deciding", err)
		}
		return &protocol.CallDone{Role: r.Role, Decision: &protocol.DecisionResult{Think: think, Probability: p}}, nil
	case protocol.RoleReview:
		rv, ok := roles.Thinker.(engine.PlanReviewer)
		if !ok {
			return nil, &Error{Code: protocol.CodeThinker, Err: errors.New("the backend's thinker does not review its plans (its hello lists no review role)")}
		}
		v, err := rv.ReviewPlan(ctx, r.Review())
		if err != nil {
			return nil, roleErr(ctx, protocol.CodeThinker, "reviewing the plan", err)
		}
		return &protocol.CallDone{Role: r.Role, Review: ReviewResult(v)}, nil
	}
	return nil, &Error{Code: protocol.CodeInvalidRequest, Err: fmt.Errorf("unknown role %q", clip(r.Role))}
}

func playThink(ctx context.Context, th engine.Thinker, r Request, emit func(protocol.Payload) error) (*protocol.CallDone, error) {
	if th == nil {
		return nil, &Error{Code: protocol.CodeThinker, Err: errors.New("the backend has no thinker (is settings.think off?)")}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var g engine.Gate
	var emitErr error
	toks, end := 0, 0
	req := r.Think()
	st := req.State
	if st.Rows.End < 0 {
		req.SetEnd = func(e int) { g.Do(func() { end = e }) }
	}
	text, err := th.Think(ctx, req, func(delta string) {
		g.Do(func() {
			if emitErr != nil {
				return
			}
			toks++
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
	case toks == 0 && text != "":
		// A thinker that does not stream: its thought is one token.
		toks = 1
		if err := emit(&protocol.CallDelta{Text: text}); err != nil {
			return nil, err
		}
	}
	if end != 0 && (end <= st.Rows.Start || end > st.Canvas.H) {
		return nil, &Error{Code: protocol.CodeThinker, Err: fmt.Errorf("the thinker ended the band at row %d, outside (%d, %d]", end, st.Rows.Start, st.Canvas.H)}
	}
	return &protocol.CallDone{Role: protocol.RoleThink, Thought: &protocol.ThoughtResult{Text: text, Tokens: toks, EndRow: end}}, nil
}

func playPaint(ctx context.Context, p engine.Painter, req engine.PaintRequest, emit func(protocol.Payload) error, strip func(canvas.Strip) error) (*protocol.CallDone, error) {
	if p == nil {
		return nil, &Error{Code: protocol.CodePainter, Err: errors.New("the backend has no painter")}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := req.Rows.End
	if stop < 0 {
		stop = req.Canvas.H
	}
	var g engine.Gate
	var cbErr error
	next := req.Rows.Start
	err := p.PaintBand(ctx, req, func(s canvas.Strip) {
		g.Do(func() {
			if cbErr != nil {
				return
			}
			var png string
			e := engine.CheckStrip(req.Canvas, s, next, stop)
			if e == nil && strip == nil {
				png, e = s.Base64()
			}
			if e != nil {
				cbErr = &Error{Code: protocol.CodePainter, Err: e}
				cancel(cbErr)
				return
			}
			next = s.Rows.End
			if strip != nil {
				e = strip(s)
			} else {
				e = emit(&protocol.CallStrip{Rows: s.Rows, PNG: png, Tokens: slices.Clone(s.Tokens)})
			}
			if e != nil {
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
		return nil, &Error{Code: protocol.CodePainter, Err: fmt.Errorf("the painter returned after rows [%d,%d) of [%d,%d)", req.Rows.Start, next, req.Rows.Start, stop)}
	}
	return &protocol.CallDone{Role: protocol.RolePaint, Rows: &protocol.Rows{Start: req.Rows.Start, End: next}}, nil
}

// roleErr wraps a role's error; a done context makes it canceled or
// deadline_exceeded whatever the role said.
func roleErr(ctx context.Context, code, doing string, err error) error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if cerr := context.Cause(ctx); ctx.Err() != nil {
		code = protocol.CodeCanceled
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			code = protocol.CodeDeadline
		}
		return &Error{Code: code, Err: fmt.Errorf("call stopped while %s: %w", doing, cerr), role: err}
	}
	return &Error{Code: code, Err: fmt.Errorf("%s: %w", doing, err), role: err}
}

// PlanReviewing is implemented by backends that know, before any run,
// whether their thinkers review their plans (package model's Model does).
// A gateway lists the review role in its hello only for one that says yes.
type PlanReviewing interface {
	ReviewsPlans() bool
}

// HelloRoles are the roles a gateway with backend b announces: the four
// of every twig model, and review when b says its thinkers review.
func HelloRoles(b any) []string {
	roles := []string{protocol.RoleThink, protocol.RolePaint, protocol.RoleCritique, protocol.RoleDecide}
	if r, ok := b.(PlanReviewing); ok && r.ReviewsPlans() {
		roles = append(roles, protocol.RoleReview)
	}
	return roles
}
