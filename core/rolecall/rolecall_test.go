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
