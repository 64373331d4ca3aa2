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
	grammarHolds(t, "thought", 4+maxThoughtWords, func(res engine.Result, _ []protocol.Event) []string { return res.Thoughts })
}

// TestDescriptionsFollowTheGrammar: the critic's descriptions keep to the
// same grammar (entries, no header, closed by </look>), so an untrained
// model's finished descriptions parse, and free ones from the same weights
// do not — unparsed, a critique scores nothing and never asks for a redraw.
func TestDescriptionsFollowTheGrammar(t *testing.T) {
	grammarHolds(t, "description", maxThoughtWords, func(_ engine.Result, evs []protocol.Event) (texts []string) {
		for _, e := range evs {
			if c, ok := e.Payload.(*protocol.Critique); ok {
				texts = append(texts, c.Raw)
			}
		}
		return texts
	})
}

// grammarHolds draws with an untrained model and checks every text of the
// kind that texts collects: each one finished (fewer than limit words)
// parses; with FreeThoughts some do not, or reach the limit unfinished.
func grammarHolds(t *testing.T, kind string, limit int, texts func(engine.Result, []protocol.Event) []string) {
	m := randomModel(t)
	if m.grammar == nil {
		t.Fatal("the model has no thought grammar")
	}
	bad := func(m *Model) (n, finished int) {
		for seed := int64(1); seed <= 8; seed++ {
			res, evs := drawOnce(t, m, engine.DefaultSettings(), seed)
			for _, text := range texts(res, evs) {
				cut := len(strings.Fields(text)) >= limit // at the length limit, not finished
				if !cut {
					finished++
				}
				if _, _, _, ok := thought.ParseThought(text); !ok || cut {
					n++
					if !cut && !m.Sampling.FreeThoughts {
						t.Errorf("seed %d: %s %q does not parse", seed, kind, text)
					}
				}
			}
		}
		return n, finished
	}
	if _, finished := bad(m); finished == 0 {
		t.Fatalf("no %s finished: nothing was checked", kind)
	}
	free := *m
	free.Sampling.FreeThoughts = true
	if n, _ := bad(&free); n == 0 {
		t.Errorf("free %ss from random weights all parse: the test cannot tell the grammar's work", kind)
	}
}
