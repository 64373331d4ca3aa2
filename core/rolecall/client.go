package rolecall

import (
	"context"
	"fmt"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// Transport carries one call to where the model is and back: it sends c,
// hands each call_delta and call_strip payload to on as it arrives (an error
// from on stops the call and is returned), and returns the call_done
// payload, or the error that ended the call.
type Transport interface {
	Call(ctx context.Context, c protocol.Call, on func(protocol.Payload) error) (*protocol.CallDone, error)
}

// TransportFunc is a function as a Transport.
type TransportFunc func(ctx context.Context, c protocol.Call, on func(protocol.Payload) error) (*protocol.CallDone, error)

// Call implements Transport.
func (f TransportFunc) Call(ctx context.Context, c protocol.Call, on func(protocol.Payload) error) (*protocol.CallDone, error) {
	return f(ctx, c, on)
}

// Client plays the engine's roles through a Transport: the one client of
// every path. Name names the far end in errors ("the server", "the host").
// Geometry is the far end's painter's canvas; zero means a twig model's
// (engine.TokenGeometry).
type Client struct {
	T        Transport
	Name     string
	Geometry engine.Geometry
	// Strip, when set, turns a call_strip into the strip handed to the
	// engine instead of decoding its PNG (canvas.DecodeBase64): a
	// transport that has the strip's pixels already (the sandbox's guest,
	// whose host decoded it natively) saves the decoding.
	Strip func(s *protocol.CallStrip, w int) (canvas.Strip, error)
	// NoCanvas leaves the canvas out of every request (its size, token
	// view and PNG): for a far end that keeps the run's canvas from its
	// events (the sandbox's host), so that a painter of pixels' canvas is
	// not encoded to PNG for every call.
	NoCanvas bool
}

// state is st as c's calls carry it: without the canvas when NoCanvas.
// Cleared before the call is encoded, so the canvas is never turned into
// its PNG for a far end that does not want it.
func (c *Client) state(st engine.State) engine.State {
	if c.NoCanvas {
		st.Canvas = nil
	}
	return st
}

// Roles returns the roles the client plays. With review the thinker also
// reviews its plans (engine.PlanReviewer) — only when the far end said it
// can (a hello listing the review role, the sandbox host's start message),
// so that a run played through calls reviews exactly when it would there.
func (c *Client) Roles(review bool) engine.Roles {
	var th engine.Thinker = thinker{c}
	if review {
		th = reviewer{thinker{c}}
	}
	return engine.Roles{Thinker: th, Painter: painter{c}, Critic: critic{c}, Decider: decider{c}}
}

func (c *Client) missing(role, what string) error {
	name := c.Name
	if name == "" {
		name = "the far end"
	}
	return fmt.Errorf("%s's %s call returned no %s", name, role, what)
}

type thinker struct{ c *Client }

// Think implements engine.Thinker.
func (t thinker) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	q := req
	q.State = t.c.state(q.State)
	done, err := t.c.T.Call(ctx, ThinkCall(q), func(p protocol.Payload) error {
		if d, ok := p.(*protocol.CallDelta); ok && emit != nil {
			emit(d.Text)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if done.Thought == nil {
		return "", t.c.missing("think", "thought")
	}
	if done.Thought.EndRow != 0 && req.SetEnd != nil {
		req.SetEnd(done.Thought.EndRow)
	}
	return done.Thought.Text, nil
}

type reviewer struct{ thinker }

// ReviewPlan implements engine.PlanReviewer.
func (r reviewer) ReviewPlan(ctx context.Context, req engine.ReviewRequest) (engine.PlanReview, error) {
	q := req
	q.State = r.c.state(q.State)
	done, err := r.c.T.Call(ctx, ReviewCall(q), ignore)
	if err != nil {
		return engine.PlanReview{}, err
	}
	if done.Review == nil {
		return engine.PlanReview{}, r.c.missing("review", "review")
	}
	return Review(done.Review), nil
}

type painter struct{ c *Client }

// Geometry implements engine.Sizer.
func (p painter) Geometry() engine.Geometry {
	if p.c.Geometry == (engine.Geometry{}) {
		return engine.TokenGeometry
	}
	return p.c.Geometry
}

// PaintBand implements engine.Painter: each call_strip's PNG is decoded
// (its size checked from the header first) and handed on; the engine
// checks where it lies.
func (p painter) PaintBand(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	q := req
	q.State = p.c.state(q.State)
	_, err := p.c.T.Call(ctx, PaintCall(q), func(pl protocol.Payload) error {
		if r, ok := pl.(*protocol.CallStrip); ok {
			decode := p.c.Strip
			if decode == nil {
				decode = func(r *protocol.CallStrip, w int) (canvas.Strip, error) {
					return canvas.DecodeBase64(r.PNG, r.Rows, w, r.Tokens)
				}
			}
			s, err := decode(r, req.Canvas.W)
			if err != nil {
				return &Error{Code: protocol.CodePainter, Err: fmt.Errorf("%s sent a strip: %w", p.c.name(), err)}
			}
			onStrip(s)
		}
		return ctx.Err() // the engine cancels ctx to end an open band
	})
	return err
}

func (c *Client) name() string {
	if c.Name == "" {
		return "the far end"
	}
	return c.Name
}

type critic struct{ c *Client }

// Critique implements engine.Critic.
func (c critic) Critique(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
	q := req
	q.State = c.c.state(q.State)
	done, err := c.c.T.Call(ctx, CritiqueCall(q), ignore)
	if err != nil {
		return engine.Critique{}, err
	}
	if done.Critique == nil {
		return engine.Critique{}, c.c.missing("critique", "critique")
	}
	return Critique(done.Critique), nil
}

type decider struct{ c *Client }

// ShouldThink implements engine.Decider.
func (d decider) ShouldThink(ctx context.Context, req engine.DecideRequest) (bool, float64, error) {
	q := req
	q.State = d.c.state(q.State)
	done, err := d.c.T.Call(ctx, DecideCall(q), ignore)
	if err != nil {
		return false, 0, err
	}
	if done.Decision == nil {
		return false, 0, d.c.missing("decide", "decision")
	}
	return done.Decision.Think, done.Decision.Probability, nil
}

func ignore(protocol.Payload) error { return nil }
