package model

import (
	"context"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
)

// A reflecting run reviews every plan with the model's own words: thoughts
// stream as they are written, a plan_review follows each, and a rejected
// plan is followed by the next attempt's thought.
func TestSessionReviewsItsPlans(t *testing.T) {
	m := randomModel(t)
	m.Sampling.ReviewTemp = 1 // both verdicts, from an untrained model
	rejected := 0
	for seed := int64(1); seed <= 6; seed++ {
		_, evs := drawOnce(t, m, engine.DefaultSettings(), seed)
		attempt := map[int]int{}
		for i, e := range evs {
			switch p := e.Payload.(type) {
			case *protocol.ThoughtDelta:
				if p.Attempt != attempt[p.Band] {
					t.Fatalf("seed %d: delta of attempt %d, want %d", seed, p.Attempt, attempt[p.Band])
				}
			case *protocol.PlanReview:
				if evs[i-1].Type != protocol.TypeThoughtDone {
					t.Fatalf("seed %d: plan_review after %s", seed, evs[i-1].Type)
				}
				if !p.Accepted && !p.Final {
					rejected++
					attempt[p.Band]++
					if evs[i+1].Type != protocol.TypeThoughtDelta {
						t.Fatalf("seed %d: a rejected plan is followed by %s", seed, evs[i+1].Type)
					}
				}
				if p.Accepted && p.Reason != "" {
					t.Fatalf("accepted with a reason %q", p.Reason)
				}
			}
		}
	}
	if rejected == 0 {
		t.Fatal("no plan was rejected in 6 runs sampling verdicts at temperature 1")
	}
}

// Weights trained before reviews existed do not review: their thinker has
// no ReviewPlan, and runs go as before.
func TestOldWeightsDoNotReview(t *testing.T) {
	words := thought.ModelWords()
	w, err := NewWeights(NewConfigWords(32, 1, 2, 1024, words[:len(words)-len(thought.ReviewWords)]), 7)
	if err != nil {
		t.Fatal(err)
	}
	m := New(w)
	if m.canReview() {
		t.Fatal("old weights claim to review")
	}
	_, evs := drawOnce(t, m, engine.DefaultSettings(), 1)
	for _, e := range evs {
		if e.Type == protocol.TypePlanReview {
			t.Fatal("old weights reviewed a plan")
		}
	}
	if _, _, err := m.ScoreImage(context.Background(), "a red circle", tokens.NewTokens()); err == nil {
		t.Fatal("old weights scored a picture")
	}
}

// The whole-picture score is the model's probability of "ok", so it is a
// number in [0, 100] that depends on the picture.
func TestScoreImageIsTheModelsVerdict(t *testing.T) {
	m := randomModel(t)
	empty := tokens.NewTokens()
	for i := range empty {
		empty[i] = 0
	}
	a, n, err := m.ScoreImage(context.Background(), "a red circle", empty)
	if err != nil || a < 0 || a > 100 || n < 3 {
		t.Fatalf("score %d, %d tokens, %v", a, n, err)
	}
}

// With plan_candidates the model writes k plans a band, reports its
// probability of "ok" for each, and the band is drawn from the likeliest.
func TestSessionChoosesAmongCandidates(t *testing.T) {
	m := randomModel(t)
	s := engine.DefaultSettings()
	s.PlanCandidates = 3
	res, evs := drawOnce(t, m, s, 3)
	var band []*protocol.PlanReview
	chose := 0
	for _, e := range evs {
		p, ok := e.Payload.(*protocol.PlanReview)
		if !ok {
			continue
		}
		if p.POk <= 0 || p.POk > 1 {
			t.Fatalf("review %+v: p_ok out of (0, 1]", *p)
		}
		band = append(band, p)
		if !p.Final {
			continue
		}
		if len(band) != 3 || p.Chosen == nil {
			t.Fatalf("band %d: %d reviews, chosen %v", p.Band, len(band), p.Chosen)
		}
		c := band[*p.Chosen]
		for _, q := range band {
			if q.POk > c.POk {
				t.Fatalf("band %d chose p_ok %v over %v", p.Band, c.POk, q.POk)
			}
		}
		if res.Thoughts[p.Band] != c.Thought {
			t.Fatalf("band %d drawn from %q, chose %q", p.Band, res.Thoughts[p.Band], c.Thought)
		}
		band = nil
		chose++
	}
	if chose != len(res.Thoughts) {
		t.Fatalf("%d choices for %d bands", chose, len(res.Thoughts))
	}
}
