package model

import (
	"context"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/world"
)

// The critic's rethink of a final band must place every object the prompt
// still lacks: with minNew set the thought cannot end, or say "empty",
// before it has written that many new objects.
func TestRethinkPlacesTheMissingObjects(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	const prompt = "three small blue circles"
	ids, spec, err := m.PromptIDs(prompt)
	if err != nil {
		t.Fatal(err)
	}
	canvas := make(world.Tokens, world.Grid*world.Grid)
	for i := range canvas {
		canvas[i] = -1
	}
	for seed := int64(1); seed <= 5; seed++ {
		s := newSession(m, ids, spec, seed, m.Sampling, false)
		st := engine.State{Prompt: prompt, Settings: engine.DefaultSettings(), Band: 0,
			Rows: engine.Rows{Start: 0, End: world.Grid}, Thoughts: []string{""}, Canvas: canvas}
		text, _, err := s.writeThought(context.Background(), st, 1.0, rethinkRules{constrain: true, minNew: 3}, nil)
		if err != nil {
			t.Fatal(err)
		}
		words := strings.Fields(text)
		if n := countWord(words, "new"); n < 3 && len(words) < maxThoughtWords {
			t.Fatalf("seed %d: rethink placed %d objects, want 3: %q", seed, n, text)
		}
		for _, e := range strings.Split(text, ";") {
			if f := strings.Fields(e); len(f) > 0 && f[len(f)-1] == "empty" {
				t.Fatalf("seed %d: rethink said empty: %q", seed, text)
			}
		}
	}
}
