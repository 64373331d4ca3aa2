package main

import (
	"context"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall/rolecalltest"
)

// scored is a backend whose critic gives band b the score scores[b].
func scored(scores ...int) engine.Backend {
	return engine.FuncBackend{Bands: len(scores), NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		return engine.Roles{
			Thinker: engine.ThinkerFunc(func(_ context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
				emit("plan ")
				return "plan", nil
			}),
			Painter: rolecalltest.ZeroPainter,
			Critic: engine.CriticFunc(func(_ context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
				return engine.Critique{Score: scores[req.Band], Parsed: true, Revision: req.Thought}, nil
			}),
		}, nil
	}}
}

// thought reports, band by band, whether the run thought before it.
func thought(t *testing.T, b engine.Backend) string {
	t.Helper()
	var got strings.Builder
	_, err := policy(context.Background(), b, engine.RunSpec{Prompt: "a red circle", Settings: engine.DefaultSettings()},
		func(ev protocol.Event) error {
			if d, ok := ev.Payload.(*protocol.ThoughtDone); ok {
				if d.Tokens > 0 {
					got.WriteByte('T')
				} else {
					got.WriteByte('-')
				}
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return got.String()
}

func TestThinksAfterLowScoresOnly(t *testing.T) {
	for _, tc := range []struct {
		scores []int
		want   string
	}{
		{[]int{95, 95, 95, 95}, "T---"},
		{[]int{40, 95, 40, 95}, "TT-T"},
		{[]int{40, 40, 40, 40}, "TTTT"},
		{[]int{90, 89, 95}, "T-T"},
	} {
		if got := thought(t, scored(tc.scores...)); got != tc.want {
			t.Errorf("scores %v: thought %q, want %q (T = thought, - = none)", tc.scores, got, tc.want)
		}
	}
}
