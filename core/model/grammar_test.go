package model

import (
	"strings"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
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

// TestDescriptionsFollowTheGrammar: the critic's descriptions keep to the
// same grammar (entries, no header, closed by </look>), so an untrained
// model's finished descriptions parse, and free ones from the same weights
// do not — unparsed, a critique scores nothing and never asks for a redraw.
func TestDescriptionsFollowTheGrammar(t *testing.T) {
	m := randomModel(t)
	bad := func(m *Model) (n, finished int) {
		for seed := int64(1); seed <= 8; seed++ {
			_, evs := drawOnce(t, m, engine.DefaultSettings(), seed)
			for _, e := range evs {
				c, ok := e.Payload.(*protocol.Critique)
				if !ok {
					continue
				}
				cut := len(strings.Fields(c.Raw)) >= maxThoughtWords // at the length limit, not finished
				if !cut {
					finished++
				}
				if _, _, _, ok := thought.ParseThought(c.Raw); !ok || cut {
					n++
					if !cut && !m.Sampling.FreeThoughts {
						t.Errorf("seed %d: description %q does not parse", seed, c.Raw)
					}
				}
			}
		}
		return n, finished
	}
	if _, finished := bad(m); finished == 0 {
		t.Fatal("no description finished: nothing was checked")
	}
	free := *m
	free.Sampling.FreeThoughts = true
	if n, _ := bad(&free); n == 0 {
		t.Error("free descriptions from random weights all parse: the test cannot tell the grammar's work")
	}
}
