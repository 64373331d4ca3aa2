package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// seeded is a backend whose roles draw from an RNG seeded by the run's seed,
// like a sampling model: the same seed must give the same run.
var seeded = engine.FuncBackend{Bands: 3, NewRoles: func(_ context.Context, spec engine.RunSpec) (engine.Roles, error) {
	rng := rand.New(rand.NewPCG(uint64(spec.Seed), 1))
	return engine.Roles{
		Thinker: engine.ThinkerFunc(func(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
			s := ""
			for range 1 + rng.IntN(5) {
				w := fmt.Sprintf("w%d ", rng.IntN(100))
				emit(w)
				s += w
			}
			return s, nil
		}),
		Painter: engine.PainterFunc(func(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
			for row := req.Rows.Start / u; row < req.Rows.End/u; row++ {
				toks := make([]int, grid)
				for i := range toks {
					toks[i] = rng.IntN(numToks)
				}
				onStrip(tokenStrip(row, toks))
			}
			return nil
		}),
		Critic: engine.CriticFunc(func(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
			return engine.Critique{Score: rng.IntN(101), Parsed: rng.IntN(10) > 0, Revision: "rev"}, nil
		}),
	}, nil
}}

// TestManyRunsAtOnce hammers the engine with concurrent runs (run with -race):
// each must equal the same seed's run alone.
func TestManyRunsAtOnce(t *testing.T) {
	const n = 32
	alone := make([]result, n)
	for i := range n {
		alone[i] = mustDraw(t, seeded, settings(func(s *engine.Settings) { s.Seed = int64(i % 8) }))
	}
	together := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var r result
			r.res, r.err = engine.Draw(context.Background(), seeded,
				engine.RunSpec{Prompt: "p", Settings: settings(func(s *engine.Settings) { s.Seed = int64(i % 8) })},
				func(ev protocol.Event) error { r.events = append(r.events, ev); return nil })
			together[i] = r
		})
	}
	wg.Wait()
	for i := range n {
		a, b := alone[i], together[i]
		if b.err != nil || !slices.Equal(a.res.Tokens, b.res.Tokens) || !slices.Equal(a.types(), b.types()) {
			t.Fatalf("run %d differs when run concurrently (err %v)", i, b.err)
		}
		if a.res.RunID == b.res.RunID {
			t.Errorf("run %d: two runs share the id %s", i, a.res.RunID)
		}
	}
	if slices.Equal(alone[0].res.Tokens, alone[1].res.Tokens) {
		t.Error("seeds 0 and 1 gave the same canvas")
	}
}

// BenchmarkRun measures the engine's own cost: a 4-band run with trivial
// roles (one critique a band, no redraws). Reports ns per event.
func BenchmarkRun(b *testing.B) {
	row := make([]int, grid)
	trivial := engine.FuncBackend{Bands: 4, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		return engine.Roles{
			Thinker: engine.ThinkerFunc(func(_ context.Context, _ engine.ThinkRequest, emit func(string)) (string, error) {
				for range 8 {
					emit("word ")
				}
				return "word word word word word word word word ", nil
			}),
			Painter: engine.PainterFunc(func(_ context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
				for r := req.Rows.Start / u; r < req.Rows.End/u; r++ {
					onStrip(tokenStrip(r, row))
				}
				return nil
			}),
			Critic: engine.CriticFunc(func(context.Context, engine.CritiqueRequest) (engine.Critique, error) {
				return engine.Critique{Score: 100, Parsed: true}, nil
			}),
		}, nil
	}}
	spec := engine.RunSpec{Prompt: "a red circle above a blue square", Settings: engine.DefaultSettings(), RunID: "bench"}
	events := 0
	sink := func(protocol.Event) error { events++; return nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := engine.Draw(context.Background(), trivial, spec, sink); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(float64(events)/float64(b.N), "events/run")
}
