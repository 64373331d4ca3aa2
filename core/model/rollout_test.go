package model

import (
	"context"
	"testing"

	"github.com/twig-project/twig/core/engine"
)

// TestRolloutReviewsAsContext: a recorded rollout trains every token the
// model generated, plan reviews included; with ReviewsAsContext the
// reviews' verdicts and reasons are in no sequence as generated tokens (RL
// leaves the reviewer alone) while the rest is recorded the same way.
func TestRolloutReviewsAsContext(t *testing.T) {
	m := randomModel(t)
	reviewed := func(r Rollout) (n int) {
		for _, d := range r.Seqs {
			for i, tok := range d.Tokens {
				if d.Weight[i] > 0 && (int(tok) == m.rv.ok || int(tok) == m.rv.bad) {
					n++
				}
			}
		}
		return n
	}
	s := engine.DefaultSettings()
	all, err := m.Rollout(context.Background(), "a red circle above a blue square", 3, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reviewed(all) == 0 {
		t.Fatal("a rollout with plan reviews recorded no verdict: the test checks nothing")
	}
	frozen := *m
	frozen.Sampling.ReviewsAsContext = true
	r, err := frozen.Rollout(context.Background(), "a red circle above a blue square", 3, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := reviewed(r); n != 0 {
		t.Fatalf("%d verdicts recorded as generated with ReviewsAsContext", n)
	}
	if r.Generated >= all.Generated || r.Generated == 0 {
		t.Fatalf("generated tokens: %d with reviews as context, %d without", r.Generated, all.Generated)
	}
}
