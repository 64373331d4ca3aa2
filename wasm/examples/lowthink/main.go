// Command lowthink is an example TwiG policy for twig's sandbox: a guest
// module (docs/SANDBOX.md) that thinks before the first band, and before a
// later band only when the critic scored the band above it below the run's
// threshold on its first drawing (or could not score it). Bands that follow
// a good band are drawn without a thought, which saves the thought tokens
// where the picture is going well.
//
// Build it with `make sandbox-examples` (GOOS=wasip1 GOARCH=wasm go build
// -buildmode=c-shared) and run it with
//
//	twig sandbox run bin/lowthink.wasm "a red circle above a blue square"
package main

import (
	"context"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/wasm/guest"
)

func init() { guest.Serve(policy) }

func main() {}

// policy is the engine's loop on a backend whose thinker and critic are
// wrapped by lowThink.
func policy(ctx context.Context, b engine.Backend, spec engine.RunSpec, sink engine.Sink) (engine.Result, error) {
	return engine.Draw(ctx, lowThink{b}, spec, sink)
}

// lowThink wraps a backend's runs with the policy.
type lowThink struct{ engine.Backend }

// Name is recorded in run_started.
func (l lowThink) Name() string {
	if n, ok := l.Backend.(engine.Named); ok && n.Name() != "" {
		return n.Name() + " + lowthink"
	}
	return "lowthink"
}

func (l lowThink) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	run, err := l.Backend.NewRun(ctx, spec)
	if err != nil {
		return nil, err
	}
	roles := run.Roles()
	first := map[int]int{} // band → score of its first drawing, when the critic scored it
	if t := roles.Thinker; t != nil {
		roles.Thinker = engine.ThinkerFunc(func(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
			if score, ok := first[req.Band-1]; ok && score >= req.Settings.Threshold {
				return "", nil // the band above went well: draw on without a thought
			}
			return t.Think(ctx, req, emit)
		})
	}
	if c := roles.Critic; c != nil {
		roles.Critic = engine.CriticFunc(func(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
			res, err := c.Critique(ctx, req)
			if err == nil && req.Round == 0 && res.Parsed {
				first[req.Band] = res.Score
			}
			return res, err
		})
	}
	return wrapped{run, roles}, nil
}

// wrapped is a run with its roles replaced.
type wrapped struct {
	engine.Run
	roles engine.Roles
}

func (w wrapped) Roles() engine.Roles { return w.roles }
