package model

import (
	"strings"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/internal/world/thought"
)

// TestThoughtsFollowTheGrammar: an untrained model's thoughts are noise,
// yet each one it finishes parses (every entry whole); with FreeThoughts
// the same weights write unparsable ones — the grammar is what holds them.
func TestThoughtsFollowTheGrammar(t *testing.T) {
	m := randomModel(t)
	if m.grammar == nil {
		t.Fatal("the model has no thought grammar")
	}
	bad := func(m *Model) (n, finished int) {
		for seed := int64(1); seed <= 8; seed++ {
			res, _ := drawOnce(t, m, engine.DefaultSettings(), seed)
			for _, th := range res.Thoughts {
				if len(strings.Fields(th)) >= 4+maxThoughtWords {
					continue // cut at the length limit, not finished
				}
				finished++
				if _, _, _, ok := thought.ParseThought(th); !ok {
					n++
					if m.grammar != nil && !m.Sampling.FreeThoughts {
						t.Errorf("seed %d: thought %q does not parse", seed, th)
					}
				}
			}
		}
		return n, finished
	}
	if _, finished := bad(m); finished == 0 {
		t.Fatal("no thought finished: nothing was checked")
	}
	free := *m
	free.Sampling.FreeThoughts = true
	if n, _ := bad(&free); n == 0 {
		t.Error("free thoughts from random weights all parse: the test cannot tell the grammar's work")
	}
}
