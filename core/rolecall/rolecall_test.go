package rolecall_test

import (
	"context"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
	"github.com/twig-project/twig/core/rolecall/rolecalltest"
)

// direct is the shortest path: the client's calls decoded and played in
// this process, each on a fresh run of the backend, as a gateway does.
func direct(b engine.Backend) rolecall.Transport {
	return rolecall.TransportFunc(func(ctx context.Context, c protocol.Call, on func(protocol.Payload) error) (*protocol.CallDone, error) {
		req, err := rolecall.Decode(c, nil)
		if err != nil {
			return nil, err
		}
		run, err := b.NewRun(ctx, engine.RunSpec{Prompt: c.Request.Prompt, Settings: c.Request.Settings, Seed: c.Request.Settings.Seed})
		if err != nil {
			return nil, err
		}
		defer run.Close()
		return rolecall.Play(ctx, run.Roles(), req, on)
	})
}

// TestClientPlaysEveryField: a run whose roles are all played through the
// one client and the one player has the native run's events.
func TestClientPlaysEveryField(t *testing.T) {
	for _, spec := range rolecalltest.Specs(true) {
		c := &rolecall.Client{Name: "direct", T: direct(rolecalltest.Backend{})}
		b := engine.FuncBackend{Bands: 3, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
			return c.Roles(true), nil
		}}
		rolecalltest.Check(t, spec, rolecalltest.Draw(t, b, spec))
	}
}

// TestClientWithoutReviewDoesNotReview: a far end that cannot review gets
// no review calls; the run then has no plan_review events, as natively
// with a thinker that does not review.
func TestClientWithoutReviewDoesNotReview(t *testing.T) {
	c := &rolecall.Client{T: direct(rolecalltest.Backend{})}
	if rolecall.Reviews(c.Roles(false)) || !rolecall.Reviews(c.Roles(true)) {
		t.Fatal("Roles(review) does not decide whether the thinker reviews")
	}
}

// TestPlayStripsHandsOnStrips: with a strip function, a paint call's
// strips go to it as painted (no call_strip reaches emit, no PNG is
// encoded); passed on as call_strips, the run's events are the native ones.
func TestPlayStripsHandsOnStrips(t *testing.T) {
	strips := 0
	tr := rolecall.TransportFunc(func(ctx context.Context, c protocol.Call, on func(protocol.Payload) error) (*protocol.CallDone, error) {
		req, err := rolecall.Decode(c, nil)
		if err != nil {
			return nil, err
		}
		run, err := rolecalltest.Backend{}.NewRun(ctx, engine.RunSpec{Prompt: c.Request.Prompt, Settings: c.Request.Settings, Seed: c.Request.Settings.Seed})
		if err != nil {
			return nil, err
		}
		defer run.Close()
		return rolecall.PlayStrips(ctx, run.Roles(), req, func(p protocol.Payload) error {
			if _, ok := p.(*protocol.CallStrip); ok {
				t.Error("a call_strip went to emit beside the strip function")
			}
			return on(p)
		}, func(s canvas.Strip) error {
			strips++
			png, err := s.Base64()
			if err != nil {
				return err
			}
			return on(&protocol.CallStrip{Rows: s.Rows, PNG: png, Tokens: s.Tokens})
		})
	})
	for _, spec := range rolecalltest.Specs(true) {
		c := &rolecall.Client{Name: "strips", T: tr}
		b := engine.FuncBackend{Bands: 3, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
			return c.Roles(true), nil
		}}
		rolecalltest.Check(t, spec, rolecalltest.Draw(t, b, spec))
	}
	if strips == 0 {
		t.Fatal("no strip reached the strip function")
	}
}

// TestClientNoCanvas: a client with NoCanvas sends requests without the
// canvas (size, token view, PNG) even when a painter of pixels drew on it;
// without it the same request carries its PNG.
func TestClientNoCanvas(t *testing.T) {
	cv, err := canvas.New(32, 32)
	if err != nil {
		t.Fatal(err)
	}
	s := canvas.Strip{Rows: protocol.Rows{Start: 0, End: 8}, W: 32, Pix: make([]uint8, 4*32*8)}
	if err := cv.Put(s); err != nil {
		t.Fatal(err)
	}
	for _, no := range []bool{false, true} {
		var got []protocol.CallRequest
		c := &rolecall.Client{NoCanvas: no, T: rolecall.TransportFunc(func(ctx context.Context, call protocol.Call, on func(protocol.Payload) error) (*protocol.CallDone, error) {
			got = append(got, call.Request)
			return &protocol.CallDone{Role: call.Role, Thought: &protocol.ThoughtResult{}, Critique: &protocol.CritiqueResult{},
				Decision: &protocol.DecisionResult{}, Review: &protocol.ReviewResult{}}, nil
		})}
		st := engine.State{Prompt: "p", Settings: engine.DefaultSettings(), Rows: protocol.Rows{Start: 8, End: 16}, Canvas: cv}
		r := c.Roles(true)
		ctx := context.Background()
		if _, err := r.Thinker.Think(ctx, engine.ThinkRequest{State: st}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Thinker.(engine.PlanReviewer).ReviewPlan(ctx, engine.ReviewRequest{State: st}); err != nil {
			t.Fatal(err)
		}
		if err := r.Painter.PaintBand(ctx, engine.PaintRequest{State: st}, func(canvas.Strip) {}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Critic.Critique(ctx, engine.CritiqueRequest{State: st}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Decider.ShouldThink(ctx, engine.DecideRequest{State: st}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 {
			t.Fatalf("%d calls, want 5", len(got))
		}
		for i, q := range got {
			if bare := q.Width == 0 && q.Height == 0 && q.Canvas == nil && q.CanvasPNG == ""; bare != no {
				t.Errorf("NoCanvas %v: call %d carries width %d, %d cells, a %d-byte png", no, i, q.Width, len(q.Canvas), len(q.CanvasPNG))
			}
		}
	}
}
